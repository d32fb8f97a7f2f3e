"""What the command line (``flowdsl._cli``) may use of flowdsl besides its public API.

The CLI is an interface, like ``Flow``: it loads a flow and compiles it
(``Flow.from_module``, ``Flow.from_functions``), describes, draws and runs it
through ``Flow`` (``graph``, ``vertices``, ``inputs``, ``stages``, ``to_dot``, ``run``),
and opens cache and checkpoint files through the public stores
(``SQLiteCache``, ``CheckpointStore``) and ``flowdsl.settings``; it imports
those from ``flowdsl`` and its errors from ``flowdsl.errors``. Beyond them it
uses only the names below (``tests/test_layers.py`` keeps it so):

* ``OPTIONS``, ``Option``, ``Invalid``, ``parse_bool``: the run options'
  declaration, from which each ``--<option>`` flag, its help and the parsing
  of its text derive; ``parse_bool`` also reads boolean ``--input`` values.
* ``spec_of``, ``ExpandedVertices``: whether a name in the user's module is a
  ``@vertex`` function (or the vertices ``unpack=`` made), to tell a module of
  vertices from one that holds a ``Flow``.
* ``NO_DEFAULT``: the marker of a parameter without an annotation or default
  in a compiled graph (``flowdsl explain``, ``--input`` conversion).
* ``annotated_parts``, ``type_name``: an annotation without its ``Annotated``
  metadata, and its short name, as errors and ``explain`` print it.
* ``did_you_mean``: the suggestion every "no such name" message ends with.
* ``CACHE_FILE``, ``inspect_file``: refuse a file that is not a flowdsl cache
  before ``flowdsl cache`` opens it (opening would start writing to it).
"""

from __future__ import annotations

from ._dsl import ExpandedVertices, spec_of
from ._model.graph import NO_DEFAULT
from ._options import OPTIONS, Invalid, Option, parse_bool
from ._services.sqlite_files import CACHE_FILE, inspect_file
from ._suggest import did_you_mean
from ._typing import annotated_parts, type_name

__all__ = [
    "CACHE_FILE",
    "NO_DEFAULT",
    "OPTIONS",
    "ExpandedVertices",
    "Invalid",
    "Option",
    "annotated_parts",
    "did_you_mean",
    "inspect_file",
    "parse_bool",
    "spec_of",
    "type_name",
]
