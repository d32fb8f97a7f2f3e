"""``flowdsl settings``: the run options a run would use here, and where each comes from."""

from __future__ import annotations

import argparse

from .. import settings
from .._cli_surface import OPTIONS
from .output import write_json, write_text

__all__ = ["main"]


def main(args: argparse.Namespace) -> int:
    """Print the effective settings as a table (or JSON); flags show what they would change."""
    report = settings(**{opt.name: getattr(args, opt.name) for opt in OPTIONS})
    if args.json:
        write_json({r.name: {"value": r.value, "source": r.source} for r in report.records})
    else:
        write_text(str(report))
    return 0
