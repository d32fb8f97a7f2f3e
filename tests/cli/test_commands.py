"""Every command through ``python -m flowdsl``: the exit statuses and messages users see."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.cli._targets import Cli, write

# Slow: each command runs in a subprocess.
pytestmark = pytest.mark.slow

SHOP_INPUTS = ("-i", "count=3", "-i", "price=2.5", "-i", "tags=[]")


def one_error_line(stderr: str) -> str:
    """The ``flowdsl: error:`` line, checked to be the first line of stderr."""
    first = stderr.splitlines()[0]
    assert first.startswith("flowdsl: error: "), stderr
    assert "Traceback" not in stderr
    return first


# --- the command line itself ----------------------------------------------------------------


def test_help_lists_the_commands_and_the_exit_statuses(cli: Cli) -> None:
    done = cli("--help")
    assert done.returncode == 0
    for command in ("run", "graph", "check", "stages", "explain", "cache", "settings"):
        assert command in done.stdout
    assert "exit status: 0 success, 1" in done.stdout


def test_usage_errors_exit_with_2(cli: Cli) -> None:
    unknown = cli("frobnicate")
    assert unknown.returncode == 2
    assert "invalid choice: 'frobnicate'" in unknown.stderr
    nothing = cli()
    assert nothing.returncode == 2
    no_target = cli("run")
    assert no_target.returncode == 2
    assert "required: TARGET" in no_target.stderr
    bad_flag = cli("run", "shop.py", "--max-workers", "lots")
    assert bad_flag.returncode == 2
    assert "argument --max-workers: 'lots' must be a positive whole number" in bad_flag.stderr


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("flowdsl")
    if not script.exists():
        pytest.skip("flowdsl is not installed as a script next to this interpreter")

    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.startswith("flowdsl ")


# --- run --------------------------------------------------------------------------------------


def test_run_converts_inputs_by_their_annotations(cli: Cli) -> None:
    done = cli("run", "shop.py", *SHOP_INPUTS, "-i", "note=42", "-i", "where=/data/x.csv")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "total = 7.5" in lines
    assert "kinds = \"int:3 str:'42' x.csv\"" in lines
    assert "odd = {1, 2}" in lines
    assert done.stderr == ""


def test_run_json_holds_outputs_states_errors_and_metrics(cli: Cli) -> None:
    done = cli("run", "shop.py", *SHOP_INPUTS, "-i", "express=yes", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["outputs"]["total"] == 12.5
    assert data["outputs"]["odd"] == "{1, 2}"  # not JSON-able: its repr
    assert set(data["states"].values()) == {"completed"}
    assert data["errors"] == {}
    assert data["metrics"]["backend"] == "serial"
    assert set(data["metrics"]["vertices"]) == {"total", "kinds", "odd", "audit"}


def test_run_module_and_module_attribute_targets(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path, "app.py", "import flowdsl, shop\n\nflow = flowdsl.Flow.from_module(shop)\n")
    by_module = cli("run", "shop", *SHOP_INPUTS, "--output", "total")
    assert (by_module.returncode, by_module.stdout) == (0, "total = 7.5\n")
    by_attribute = cli("run", "app:flow", *SHOP_INPUTS, "--output", "total")
    assert (by_attribute.returncode, by_attribute.stdout) == (0, "total = 7.5\n")
    only_flow = cli("run", "app", *SHOP_INPUTS, "--output", "total")
    assert (only_flow.returncode, only_flow.stdout) == (0, "total = 7.5\n")


def test_run_reads_an_inputs_file_that_input_flags_override(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text(json.dumps({"count": 1, "price": 4.0, "tags": ["a"]}))
    done = cli("run", "shop.py", "--inputs", "in.json", "-i", "count=2", "--output", "total")
    assert (done.returncode, done.stdout) == (0, "total = 8.0\n")
    missing = cli("run", "shop.py", "--inputs", "nope.json")
    assert missing.returncode == 2
    assert "--inputs nope.json: cannot read it" in one_error_line(missing.stderr)


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("count=three", "--input count='three': the input 'count' is annotated int, and 'three' "),
        ("cuont=3", "the flow has no input 'cuont'; did you mean 'count'?"),
    ],
)
def test_a_bad_input_is_a_usage_error(cli: Cli, flag: str, message: str) -> None:
    # More conversions are in test_inputs.py, without a process each.
    done = cli("run", "shop.py", "-i", flag)
    assert done.returncode == 2
    assert message in one_error_line(done.stderr)


def test_missing_inputs_are_listed_with_a_hint(cli: Cli) -> None:
    done = cli("run", "shop.py", "-i", "count=1")
    assert done.returncode == 2
    assert "missing 2 required inputs" in one_error_line(done.stderr)
    assert "hint: give each with --input NAME=VALUE" in done.stderr


def test_a_failed_vertex_is_one_line_and_exit_1(cli: Cli) -> None:
    inputs = ("-i", "count=100", "-i", "price=2", "-i", "tags=[]")
    done = cli("run", "shop.py", *inputs)
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert line.startswith("flowdsl: error: vertex 'audit' (")
    assert line.endswith("raised ValueError: total 200.0 is over the limit")
    assert "hint: --traceback shows where it was raised" in done.stderr
    full = cli("run", "shop.py", *inputs, "--traceback")
    assert full.returncode == 1
    assert "Traceback (most recent call last)" in full.stderr
    assert 'raise ValueError(f"total {total} is over the limit")' in full.stderr


def test_a_failed_run_in_json_still_prints_the_partial_result(cli: Cli) -> None:
    done = cli("run", "shop.py", "-i", "count=100", "-i", "price=2", "-i", "tags=[]", "--json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["states"]["audit"] == "failed"
    assert data["outputs"]["total"] == 200.0
    assert "over the limit" in data["error"]


def test_on_error_continue_prints_what_completed_and_exits_1(cli: Cli) -> None:
    done = cli("run", "shop.py", "-i", "count=100", "-i", "price=2", "-i", "tags=[]")
    assert done.returncode == 1
    cont = cli(
        "run", "shop.py", "-i", "count=100", "-i", "price=2", "-i", "tags=[]", "--on-error=continue"
    )
    assert cont.returncode == 1
    assert "total = 200.0" in cont.stdout.splitlines()
    assert (
        "flowdsl: vertex 'audit' failed: ValueError: total 200.0 is over the limit" in cont.stderr
    )


def test_run_writes_a_report_also_when_the_run_fails(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "run.html"
    done = cli("run", "shop.py", *SHOP_INPUTS, "--report", str(report))
    assert done.returncode == 0
    assert done.stderr == ""
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert 'class="fd-svg fd-timeline"' in text
    report.unlink()
    failed = cli(
        "run",
        "shop.py",
        "-i",
        "count=100",
        "-i",
        "price=2",
        "-i",
        "tags=[]",
        "--report",
        str(report),
    )
    assert failed.returncode == 1
    assert "over the limit" in one_error_line(failed.stderr)
    assert "fd-n fd-failed" in report.read_text(encoding="utf-8")


def test_a_report_that_cannot_be_written_is_one_error_line(cli: Cli, tmp_path: Path) -> None:
    done = cli("run", "shop.py", *SHOP_INPUTS, "--report", str(tmp_path / "no" / "run.html"))
    assert done.returncode == 1
    assert "cannot write the report" in one_error_line(done.stderr)


def test_flags_override_the_environment(cli: Cli) -> None:
    from_env = cli("run", "shop.py", *SHOP_INPUTS, "--json", env={"FLOWDSL_BACKEND": "thread"})
    assert json.loads(from_env.stdout)["metrics"]["backend"] == "thread"
    flag = cli(
        "run", "shop.py", *SHOP_INPUTS, "--json", "--backend", "async", env={"FLOWDSL_BACKEND": "x"}
    )
    assert json.loads(flag.stdout)["metrics"]["backend"] == "async"


def test_a_bad_environment_variable_is_a_usage_error(cli: Cli) -> None:
    done = cli("run", "shop.py", *SHOP_INPUTS, env={"FLOWDSL_MAX_WORKERS": "lots"})
    assert done.returncode == 2
    assert one_error_line(done.stderr) == (
        "flowdsl: error: FLOWDSL_MAX_WORKERS='lots' must be a positive whole number"
    )
    assert "hint: fix or unset FLOWDSL_MAX_WORKERS" in done.stderr


def test_output_and_flow_select_and_are_checked(cli: Cli) -> None:
    flow = cli("run", "shop.py", *SHOP_INPUTS, "--flow", "pricing")
    assert (flow.returncode, flow.stdout) == (0, "total = 7.5\n")
    bad_output = cli("run", "shop.py", *SHOP_INPUTS, "--output", "totl")
    assert bad_output.returncode == 2
    assert "--output totl: no vertex or flow input 'totl'; did you mean 'total'?" in (
        bad_output.stderr
    )
    an_input = cli("run", "shop.py", *SHOP_INPUTS, "--output", "count", "--output", "note")
    assert (an_input.returncode, an_input.stdout) == (0, "count = 3\nnote = '-'\n")
    bad_flow = cli("run", "shop.py", *SHOP_INPUTS, "--flow", "pricng")
    assert bad_flow.returncode == 2
    assert "did you mean 'pricing'?" in bad_flow.stderr
    assert "hint: the flows are: pricing, audit" in bad_flow.stderr


# --- targets ----------------------------------------------------------------------------------


def test_targets_that_name_nothing_are_usage_errors(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path, "two.py", "import flowdsl, shop\n\na = b = flowdsl.Flow.from_module(shop)\n")
    write(tmp_path, "empty.py", "X = 1\n")
    cases = {
        "nope.py": "no such file: nope.py",
        "nope_module": "no module named 'nope_module'",
        "shop:totl": "shop has no attribute 'totl'; did you mean 'total'?",
        "shop:Path": "shop:Path is a type, not a Flow, a graph, a module or a @vertex function",
        "two": "two defines no @vertex functions but several flows: a, b",
        "empty.py": "empty.py defines no @vertex functions and no Flow",
    }
    for target, message in cases.items():
        done = cli("stages", target)
        assert done.returncode == 2, target
        assert message in one_error_line(done.stderr)


def test_a_target_whose_import_raises_fails_with_a_hint(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path, "broken.py", "import shop\n\nraise RuntimeError('no database')\n")
    done = cli("stages", "broken.py")
    assert done.returncode == 1
    assert one_error_line(done.stderr) == (
        "flowdsl: error: importing broken.py raised RuntimeError: no database"
    )
    assert "hint: --traceback shows where" in done.stderr


# --- graph, stages, explain -------------------------------------------------------------------


def test_graph_formats(cli: Cli, tmp_path: Path) -> None:
    mermaid = cli("graph", "shop.py")
    assert mermaid.returncode == 0
    assert mermaid.stdout.startswith("flowchart TD\n")
    dot = cli("graph", "shop.py", "--format", "dot")
    assert dot.stdout.startswith("digraph flow {")
    written = cli("graph", "shop.py", "-f", "json", "-o", "graph.json")
    assert (written.returncode, written.stdout) == (0, "")
    data = json.loads((tmp_path / "graph.json").read_text())
    assert data["order"] == ["total", "kinds", "odd", "audit"]


@pytest.mark.skipif(os.name != "posix", reason="the stand-in dot program is a shell script")
def test_svg_and_png_need_graphviz(cli: Cli, tmp_path: Path) -> None:
    no_dot = tmp_path / "no-dot"
    no_dot.mkdir()
    absent = cli("graph", "shop.py", "--format", "svg", env={"PATH": str(no_dot)})
    assert absent.returncode == 1
    assert one_error_line(absent.stderr) == (
        "flowdsl: error: --format svg needs Graphviz's dot program, which is not on PATH"
    )
    assert "hint: install Graphviz" in absent.stderr
    fake = tmp_path / "bin"
    fake.mkdir()
    dot = fake / "dot"
    dot.write_text('#!/bin/sh\ncat > /dev/null\necho "<svg format=$1/>"\n')
    dot.chmod(0o755)
    drawn = cli("graph", "shop.py", "--format", "png", "-o", "g.png", env={"PATH": str(fake)})
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / "g.png").read_text() == "<svg format=-Tpng/>\n"


def test_stages(cli: Cli) -> None:
    done = cli("stages", "shop.py")
    assert done.stdout == "1  total, kinds\n2  odd, audit\n"
    as_json = cli("stages", "shop.py", "--json")
    assert json.loads(as_json.stdout) == [["total", "kinds"], ["odd", "audit"]]


@pytest.mark.skipif(os.name != "posix", reason="the default's repr is PosixPath('.')")
def test_explain_a_vertex(cli: Cli) -> None:
    done = cli("explain", "shop.py", "kinds", env={"FLOWDSL_CONTRACTS": "warn"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "vertex      kinds"
    assert lines[1].startswith("defined     ")
    assert lines[1].endswith("shop.py:13  (shop.kinds)")
    assert lines[5:9] == [
        "bindings",
        "  count: int                    <- flow input 'count'",
        "  note: str = '-'               <- flow input 'note'",
        "  where: Path = PosixPath('.')  <- flow input 'where'",
    ]
    assert "contracts   warn (the run's; environment FLOWDSL_CONTRACTS)" in lines
    assert "pure        True  (cached when the run has a cache)" in lines
    assert "flows       -" in lines


def test_explain_an_unknown_vertex_suggests_one(cli: Cli) -> None:
    done = cli("explain", "shop.py", "totl")
    assert done.returncode == 2
    assert one_error_line(done.stderr) == (
        "flowdsl: error: no vertex 'totl' in shop.py; did you mean 'total'?"
    )
    assert "hint: its vertices are: total, kinds, odd, audit" in done.stderr


# --- check ------------------------------------------------------------------------------------

BROKEN = """
from typing import Annotated

from flowdsl import From, vertex


@vertex
def a(x: int) -> int:
    return x


@vertex
def b(a: int, c: Annotated[int, From("aa")]) -> str:
    return str(a)


@vertex
def d(b: int) -> int:
    return b
"""


def test_check_a_good_target(cli: Cli) -> None:
    done = cli("check", "shop.py")
    assert (done.returncode, done.stdout) == (0, "shop.py: ok (4 vertices, 6 inputs, 2 stages)\n")
    assert json.loads(cli("check", "shop.py", "--json").stdout) == []


def test_check_lists_every_problem(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", BROKEN)
    done = cli("check", "broken.py")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{path}:13: BindingError: vertex 'b', parameter 'c': From('aa'): there is no vertex "
        "named 'aa'; did you mean 'a'?",
        f"{path}:18: TypeMismatchError: vertex 'd', parameter 'b': 'b' produces str, but the "
        "parameter expects int",
    ]
    assert done.stderr == "flowdsl: 2 problems in broken.py\n"
    problems = json.loads(cli("check", "broken.py", "--json").stdout)
    assert [(p["kind"], p["vertex"], p["parameter"], p["line"]) for p in problems] == [
        ("BindingError", "b", "c", 13),
        ("TypeMismatchError", "d", "b", 18),
    ]
    assert problems[0]["file"] == str(path)
    assert problems[0]["message"].startswith("From('aa'): there is no vertex named 'aa'")


def test_other_commands_on_a_broken_target_report_all_problems(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path, "broken.py", BROKEN)
    done = cli("run", "broken.py")
    assert done.returncode == 1
    assert done.stderr.startswith("flowdsl: error: 2 problems found:\n  - vertex 'b'")
    assert "hint: flowdsl check TARGET lists them" in done.stderr


def test_check_reports_a_bad_decorator_raised_at_import(cli: Cli, tmp_path: Path) -> None:
    source = (
        "from flowdsl import vertex\n\n\n@vertex(timeout=-1)\ndef f(x: int) -> int:\n    return x\n"
    )
    write(tmp_path, "badflag.py", source)
    done = cli("check", "badflag.py", "--json")
    assert done.returncode == 1
    (problem,) = json.loads(done.stdout)
    assert problem["kind"] == "InvalidVertexError"
    assert "timeout=" in problem["message"]


# --- cache ------------------------------------------------------------------------------------


def test_cache_info_and_clear(cli: Cli, tmp_path: Path) -> None:
    run = cli("run", "shop.py", *SHOP_INPUTS, "--output", "kinds", "--cache", "cache.db")
    assert run.returncode == 0, run.stderr
    info = cli("cache", "info", "cache.db")
    assert info.returncode == 0
    assert info.stdout.splitlines()[:2] == ["path     cache.db", "entries  1"]
    as_json = json.loads(cli("cache", "info", "cache.db", "--json").stdout)
    assert as_json["entries"] == 1
    assert as_json["bytes"] > 0
    cleared = cli("cache", "clear", "cache.db")
    assert (cleared.returncode, cleared.stdout) == (0, "cleared 1 entry from cache.db\n")
    assert json.loads(cli("cache", "info", "cache.db", "--json").stdout)["entries"] == 0


def test_cache_refuses_what_is_not_a_cache_and_leaves_it_alone(cli: Cli, tmp_path: Path) -> None:
    missing = cli("cache", "info", "nope.db")
    assert missing.returncode == 2
    assert one_error_line(missing.stderr) == "flowdsl: error: nope.db does not exist"
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE t (x)")
    before = other.read_bytes()
    done = cli("cache", "clear", "other.db")
    assert done.returncode == 1
    assert "other.db is a SQLite database of another application (tables: t)" in done.stderr
    assert other.read_bytes() == before
    (tmp_path / "notes.txt").write_text("hello")
    text = cli("cache", "info", "notes.txt")
    assert text.returncode == 1
    assert "notes.txt is not a SQLite database" in text.stderr


def test_run_with_a_cache_path_that_is_a_folder_is_one_error_line(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    done = cli("run", "shop.py", *SHOP_INPUTS, "--output", "kinds", "--cache", "adir")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    line = one_error_line(done.stderr)
    assert line == "flowdsl: error: adir is a directory, not a cache file"
    assert list((tmp_path / "adir").iterdir()) == []


# --- checkpoints ------------------------------------------------------------------------------


def test_runs_list_show_delete_and_resume(cli: Cli) -> None:
    first = cli(
        "run", "shop.py", *SHOP_INPUTS, "--checkpoint", "runs.db", "--run-id", "n1", "--progress"
    )
    assert first.returncode == 0, first.stderr
    assert "flowdsl: run completed:" in first.stderr  # the progress lines go to stderr
    listed = cli("runs", "list", "runs.db")
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[1].split()[0] == "n1"
    shown = json.loads(cli("runs", "show", "runs.db", "n1", "--json").stdout)
    assert shown["run_id"] == "n1"
    assert shown["vertices"]
    resumed = cli(
        "run", "shop.py", "--checkpoint", "runs.db", "--run-id", "n1", "--resume", "--json"
    )
    assert resumed.returncode == 0, resumed.stderr
    states = json.loads(resumed.stdout)["states"]
    assert set(states.values()) == {"restored"}
    assert cli("runs", "delete", "runs.db", "n1").stdout == "deleted run 'n1' from runs.db\n"
    gone = cli("runs", "show", "runs.db", "n1")
    assert gone.returncode == 2
    assert one_error_line(gone.stderr) == "flowdsl: error: no run 'n1' in runs.db"


def test_runs_and_resume_usage_errors(cli: Cli) -> None:
    missing = cli("runs", "list", "missing.db")
    assert missing.returncode == 2
    assert one_error_line(missing.stderr) == "flowdsl: error: missing.db does not exist"
    no_id = cli("run", "shop.py", "--resume")
    assert no_id.returncode == 2
    assert "--resume needs --run-id and --checkpoint" in no_id.stderr


def test_runs_refuses_what_is_not_a_checkpoint_file_and_leaves_it_alone(
    cli: Cli, tmp_path: Path
) -> None:
    other = tmp_path / "app.db"
    with closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE runs (id INTEGER, day TEXT)")
    before = other.read_bytes()
    for action in (("list",), ("delete", "nightly")):
        done = cli("runs", action[0], "app.db", *action[1:])
        assert done.returncode == 1
        assert "app.db is a SQLite database of another application (tables: runs)" in done.stderr
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("app.db")) == ["app.db"]


def test_an_unknown_run_id_is_the_same_usage_error_for_resume_and_runs_show(cli: Cli) -> None:
    recorded = cli("run", "shop.py", *SHOP_INPUTS, "--checkpoint", "runs.db", "--run-id", "n1")
    assert recorded.returncode == 0, recorded.stderr
    shown = cli("runs", "show", "runs.db", "n2")
    resumed = cli("run", "shop.py", "--checkpoint", "runs.db", "--run-id", "n2", "--resume")
    for done in (shown, resumed):
        assert done.returncode == 2
        assert one_error_line(done.stderr) == "flowdsl: error: no run 'n2' in runs.db"
        assert done.stderr.splitlines()[1] == "hint: runs: n1"
    nowhere = cli("run", "shop.py", "--checkpoint", "none.db", "--run-id", "n1", "--resume")
    assert nowhere.returncode == 2
    assert one_error_line(nowhere.stderr) == "flowdsl: error: none.db does not exist"


# --- settings ---------------------------------------------------------------------------------


def test_settings_shows_values_and_sources(cli: Cli) -> None:
    done = cli("settings", "--backend", "thread", env={"FLOWDSL_TIMEOUT": "2.5"})
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["option", "value", "source"]
    assert lines[1].split() == ["backend", "'thread'", "argument"]
    assert lines[5].split() == ["timeout", "2.5", "environment", "FLOWDSL_TIMEOUT"]
    data = json.loads(cli("settings", "--json").stdout)
    assert data["cache"] == {"value": False, "source": "default"}
