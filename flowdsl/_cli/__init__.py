"""The ``flowdsl`` command line (``flowdsl ...`` or ``python -m flowdsl ...``), on argparse.

Layout, one job per module::

    main       parse, dispatch, turn errors into one line and an exit status
    parser     every command and its arguments (run option flags from the option table)
    target     find the flow a TARGET names (file, module, module:attribute)
    inputs     --input NAME=VALUE converted by the input's annotation; --inputs FILE.json
    output     name = repr lines, and JSON for tools
    run, graph, check, explain (stages, explain), cache, settings: one command each

Only this package writes to stdout and stderr; the library never prints.
"""

from .main import main

__all__ = ["main"]
