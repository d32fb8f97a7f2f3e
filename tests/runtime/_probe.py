"""Where cached test vertices record their calls.

Vertices reach this module through an attribute (``probe.calls``), which code
fingerprints name rather than follow, so recording a call does not change the
vertex's cache key (a list in a closure or a global would: it is state the
function reads).
"""

from __future__ import annotations

import threading
from typing import Any

calls: list[Any] = []
#: Held while recording from several threads at once.
lock = threading.Lock()
release = threading.Event()
