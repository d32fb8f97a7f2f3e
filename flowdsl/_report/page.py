"""The HTML run report: one self-contained file (``result.report("run.html")``).

Everything is inline (styles, the drawings as SVG, the details as JSON, a
small script for hover, click and search), so the file opens offline and can
be mailed or attached to a ticket. No script library is bundled: the
drawings are laid out here, in Python.
"""

from __future__ import annotations

import datetime
import json
import os
import reprlib
import uuid
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .draw import STYLE, graph_svg, seconds_text, timeline_svg
from .layout import layered

if TYPE_CHECKING:
    from .._result import RunResult

__all__ = ["error_text", "report_html", "short_repr", "state_counts", "write_report"]

#: Characters of a value's repr shown in the details.
REPR_LIMIT = 120
#: Characters of an error's message shown in the details.
ERROR_LIMIT = 400

_PAGE_STYLE = """
body{font:14px system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:16px 20px;color:#1f2328}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px}
.fd-meta{color:#59636e;margin:2px 0}.fd-crit b{color:#8250df}
.fd-scroll{overflow:auto;max-height:72vh;border:1px solid #d0d7de;border-radius:6px;padding:4px}
.fd-legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:#59636e;margin:4px 0}
.fd-legend svg{vertical-align:middle;margin-right:4px}
#fd-find{font:inherit;padding:2px 6px;margin-left:8px;width:220px}
#fd-details{position:fixed;right:16px;bottom:16px;width:380px;max-height:60vh;overflow:auto;
background:#fff;border:1px solid #8c959f;border-radius:6px;padding:8px 12px;
box-shadow:0 4px 14px #0003;font-size:13px}
#fd-details h3{margin:0 0 6px;font-size:14px;word-break:break-all}
#fd-details table{border-collapse:collapse}#fd-details td{padding:1px 8px 1px 0;vertical-align:top}
#fd-details td:first-child{color:#59636e;white-space:nowrap}
#fd-details pre{margin:0;white-space:pre-wrap;word-break:break-all;font-size:12px}
"""

# Hover shows a vertex's details and lights its box and bars; a click pins
# them; the search box finds a vertex by name.
_SCRIPT = """
(() => {
  const data = JSON.parse(document.getElementById('fd-data').textContent);
  const D = data.vertices;
  const F = ['state', 'time', 'attempts', 'waited', 'cache', 'lanes', 'value', 'error',
             'skipped'];
  const panel = document.getElementById('fd-details');
  let pinned = null, lit = [];
  function light(i) {
    lit.forEach(e => e.classList.remove('fd-hl'));
    lit = i === null ? [] : Array.from(document.querySelectorAll('[data-v="' + i + '"]'));
    lit.forEach(e => e.classList.add('fd-hl'));
  }
  function show(i) {
    const d = D[i];
    panel.replaceChildren();
    const h = document.createElement('h3');
    h.textContent = d[0];
    const t = document.createElement('table');
    F.forEach((name, k) => {
      const v = d[k + 1];
      if (v === null || v === undefined || v === '') return;
      const r = t.insertRow();
      r.insertCell().textContent = name;
      const p = document.createElement('pre');
      p.textContent = v;
      r.insertCell().appendChild(p);
    });
    if (d.length > F.length + 1) {
      const r = t.insertRow();
      r.insertCell().textContent = 'defined at';
      r.insertCell().textContent = data.files[d[F.length + 1]] + ':' + d[F.length + 2];
    }
    panel.append(h, t);
    panel.hidden = false;
  }
  function target(ev) {
    const e = ev.target.closest ? ev.target.closest('[data-v]') : null;
    return e ? e.getAttribute('data-v') : null;
  }
  document.addEventListener('mouseover', ev => {
    if (pinned !== null) return;
    const i = target(ev);
    if (i !== null) { show(+i); light(i); }
  });
  document.addEventListener('click', ev => {
    const i = target(ev);
    if (i !== null) { pinned = i; show(+i); light(i); }
    else if (!panel.contains(ev.target)) { pinned = null; panel.hidden = true; light(null); }
  });
  document.getElementById('fd-find').addEventListener('change', ev => {
    const q = ev.target.value.trim();
    if (!q) return;
    let i = D.findIndex(d => d[0] === q);
    if (i < 0) i = D.findIndex(d => d[0].includes(q));
    ev.target.setCustomValidity(i < 0 ? 'no such vertex' : '');
    if (i < 0) { ev.target.reportValidity(); return; }
    pinned = String(i); show(i); light(pinned);
    const box = document.querySelector('.fd-graph [data-v="' + i + '"]');
    if (box) box.scrollIntoView({block: 'center', inline: 'center'});
  });
  document.body.setAttribute('data-ready', String(D.length));
})();
"""

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = REPR_LIMIT
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6


def short_repr(value: Any) -> str:
    """A one-line repr of at most ``REPR_LIMIT`` characters, never raising."""
    try:
        text = " ".join(_repr.repr(value).split())
    except Exception as exc:  # a user's __repr__ that fails must not break the report
        text = f"<{type(value).__name__}: repr failed: {type(exc).__name__}>"
    return text if len(text) <= REPR_LIMIT else text[: REPR_LIMIT - 1] + "…"


def error_text(error: BaseException) -> str:
    """``Type: message``, cut to ``ERROR_LIMIT`` characters."""
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


def _file_index(files: dict[str, int], file: str) -> int:
    # Files under the current folder are shown relative to it: shorter, and the
    # report says less about the machine it was made on.
    try:
        relative = os.path.relpath(file)
    except ValueError:  # another drive (Windows)
        relative = file
    shown = file if relative.startswith(os.pardir) else relative
    return files.setdefault(shown, len(files))


def _details(result: RunResult, names: list[str], files: dict[str, int]) -> list[list[Any]]:
    # One row per vertex, in ``data-v`` order: name, then the fields the script
    # lists in ``F``, then where it is defined (an index into ``files``, and the
    # line); trailing empty fields are dropped to keep the file small.
    metrics = result.metrics.vertices
    lanes: dict[str, list[str]] = {}
    for span in result.timeline.spans:
        names_of = lanes.setdefault(span.vertex, [])
        if span.lane not in names_of:
            names_of.append(span.lane)
    graph = result._graph
    rows = []
    for name in names:
        location = graph.vertices[name].location
        state = str(result.states.get(name, "pending"))
        m = metrics.get(name)
        try:
            value: str | None = short_repr(result.value_of(name))
        except KeyError:
            value = None
        error = result.errors.get(name)
        fallback = None if m is None or m.fallback is None else f" (fallback {m.fallback})"
        row = [
            name,
            state + (fallback or ""),
            None if m is None else seconds_text(m.duration),
            None if m is None else m.attempts,
            None if m is None or not m.waited else seconds_text(m.waited),
            None if m is None else m.cache,
            ", ".join(lanes.get(name, ())) or None,
            value,
            None if error is None else error_text(error),
            result.skip_reasons.get(name),
            _file_index(files, location.file),
            location.line,
        ]
        rows.append(row)
    return rows


def _legend(items: list[tuple[str, str]]) -> str:
    swatches = "".join(
        f'<span><svg class="fd-svg" width="22" height="12"><rect class="{cls}" x="1" y="1" '
        f'width="20" height="10" rx="2"/></svg>{escape(label)}</span>'
        for cls, label in items
    )
    return f'<div class="fd-legend">{swatches}</div>'


_GRAPH_LEGEND = [
    ("fd-n fd-completed", "completed"),
    ("fd-n fd-failed", "failed"),
    ("fd-n fd-skipped", "skipped"),
    ("fd-n fd-pending", "not run"),
    ("fd-n fd-overridden", "given or restored"),
    ("fd-n fd-rolled_back", "rolled back"),
    ("fd-n fd-completed fd-cp", "critical path"),
]
_TIMELINE_LEGEND = [
    ("fd-b fd-completed", "call"),
    ("fd-b fd-retried", "failed, retried"),
    ("fd-b fd-failed", "failed"),
    ("fd-b fd-hit", "cache hit"),
    ("fd-b fd-completed fd-cp", "on the critical path"),
]


def state_counts(states: Mapping[str, Any]) -> str:
    """How many vertices are in each state: ``6 completed, 1 failed``."""
    counts: dict[str, int] = {}
    for state in states.values():
        counts[str(state)] = counts.get(str(state), 0) + 1
    return ", ".join(f"{n} {state}" for state, n in counts.items())


def report_html(result: RunResult) -> str:
    """The report of ``result`` as one HTML document (see the module docstring)."""
    names = list(result.states)
    index = {name: i for i, name in enumerate(names)}
    timeline = result.timeline
    metrics = result.metrics
    states = {name: str(state) for name, state in result.states.items()}
    graph = graph_svg(layered(result._graph, names), states, index, timeline.critical_path)
    started = datetime.datetime.fromtimestamp(metrics.started_at, datetime.timezone.utc)
    ratio = (
        f" · makespan / critical path {timeline.makespan / timeline.critical_length:.2f}\u00d7"
        if timeline.critical_length > 0
        else ""
    )
    files: dict[str, int] = {}
    rows = [_trimmed(row) for row in _details(result, names, files)]
    data = json.dumps(
        {"files": list(files), "vertices": rows}, ensure_ascii=False, separators=(",", ":")
    ).replace("</", "<\\/")
    run = escape(result.run_id[:8])
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>flowdsl run {run}</title><style>{_PAGE_STYLE}{STYLE}</style></head><body>",
            f"<header><h1>flowdsl run {run}</h1>",
            f'<p class="fd-meta">{escape(result.run_id)} · backend {escape(metrics.backend)} · '
            f"started {started:%Y-%m-%d %H:%M:%S} UTC · {len(names)} vertices: "
            f"{escape(state_counts(result.states))}</p>",
            f'<p class="fd-meta fd-crit">makespan <b>{seconds_text(timeline.makespan)}</b> · '
            f"critical path <b>{seconds_text(timeline.critical_length)}</b> "
            f"({len(timeline.critical_path)} vertices){ratio} · vertex time "
            f"{seconds_text(metrics.vertex_time)}</p></header>",
            '<section id="fd-graph-section"><h2>Graph',
            '<input id="fd-find" type="search" placeholder="find a vertex" '
            'aria-label="find a vertex"></h2>',
            _legend(_GRAPH_LEGEND),
            f'<div class="fd-scroll">{graph}</div></section>',
            '<section id="fd-timeline-section"><h2>Timeline</h2>',
            _legend(_TIMELINE_LEGEND),
            '<p class="fd-meta">One bar per call, on the thread or event loop it ran on. '
            "Dotted: waiting for a worker thread, and the delay before a retry or fallback. "
            "Diamonds: skipped vertices. Hover or click for details.</p>",
            f'<div class="fd-scroll">{timeline_svg(timeline, index)}</div></section>',
            '<aside id="fd-details" hidden></aside>',
            f'<script type="application/json" id="fd-data">{data}</script>',
            f"<script>{_SCRIPT}</script></body></html>\n",
        ]
    )


def _trimmed(row: list[Any]) -> list[Any]:
    while row and row[-1] is None:
        row.pop()
    return row


def write_report(result: RunResult, path: str | os.PathLike[str]) -> Path:
    """Write the report of ``result`` to ``path`` whole, or not at all; return the path."""
    target = Path(path)
    text = report_html(result)
    # A name of its own beside the target (created with the usual permissions,
    # unlike mkstemp's), then renamed over it.
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "x", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
