"""How many examples a randomized test draws: all of them, or a quarter in the quick loop.

``pytest -m "not slow"`` is the inner loop (the conftest sets ``QUICK`` for a
marker expression that leaves the slow tests out); there each randomized
test draws a quarter of its examples, at least three. The whole suite, as the
README runs it, draws every example.
"""

from __future__ import annotations

__all__ = ["QUICK", "examples"]

#: Set by the conftest before the test modules are collected.
QUICK = False


def examples(full: int) -> int:
    """``full`` for a whole run, a quarter of it (at least 3) in the quick loop:
    ``@settings(max_examples=examples(30))``."""
    return max(3, full // 4) if QUICK else full
