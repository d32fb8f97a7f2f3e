"""The examples run as scripts, and the CSV report computes what an independent count says."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import flowdsl
from tests.docs_examples import ROOT, run_example
from tests.strategies import import_file

EXAMPLES = ROOT / "examples"
SALES = EXAMPLES / "data" / "sales.csv"


# --------------------------------------------------------------------------- quickstart


def test_quickstart_prints_the_design_card_results() -> None:
    script = EXAMPLES / "quickstart.py"
    if not script.exists():
        pytest.fail("examples/quickstart.py does not exist yet")
    out = run_example(script)
    assert re.search(r"^save = 7$", out, re.MULTILINE), out
    assert re.search(r"^fetch_user\.name = alice$", out, re.MULTILINE), out


# --------------------------------------------------------------------------- the CSV report


def independent_stats(path: Path) -> dict[str, Any]:
    """The report's numbers, computed without flowdsl or the example's code."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    records: list[tuple[str, ...]] = []
    blank = invalid = 0
    for line in lines[1:]:
        cells = tuple(c.strip() for c in line.split(","))
        if all(c == "" for c in cells):
            blank += 1
            continue
        row = dict(zip(header, cells, strict=False))
        if len(cells) != len(header) or not row["units"].isdigit() or not row["unit_price"]:
            invalid += 1
            continue
        records.append(cells)
    unique = list(dict.fromkeys(records))
    by_region: dict[str, Decimal] = defaultdict(Decimal)
    units: Counter[str] = Counter()
    for cells in unique:
        row = dict(zip(header, cells, strict=False))
        revenue = int(row["units"]) * Decimal(row["unit_price"])
        by_region[row["region"]] += revenue
        units[row["product"]] += int(row["units"])
    return {
        "blank": blank,
        "invalid": invalid,
        "duplicates": len(records) - len(unique),
        "rows_used": len(unique),
        "by_region": dict(by_region),
        "total_revenue": sum(by_region.values()),
        "total_units": sum(units.values()),
        "best_region": max(by_region, key=lambda r: by_region[r]),
        "units": units,
    }


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return independent_stats(SALES)


@pytest.fixture(scope="module")
def csv_report() -> ModuleType:
    return import_file(EXAMPLES / "csv_report.py")


def test_the_data_file_is_dirty_as_advertised(expected: dict[str, Any]) -> None:
    assert expected["blank"] >= 2
    assert expected["invalid"] >= 1
    assert expected["duplicates"] >= 1
    assert 30 <= expected["rows_used"] <= 50
    raw = SALES.read_text(encoding="utf-8")
    assert any(line != line.strip() or " ," in line for line in raw.splitlines())


def test_csv_report_flow_computes_the_statistics(
    csv_report: ModuleType, expected: dict[str, Any], tmp_path: Path
) -> None:
    flow = flowdsl.Flow.from_module(csv_report)
    target = tmp_path / "out" / "report.md"

    result = flow.run({"report_path": str(target)})

    assert result["report"] == str(target)
    assert result["clean.blank"] == expected["blank"]
    assert len(result["clean.invalid"]) == expected["invalid"]
    assert result["clean.duplicates"] == expected["duplicates"]
    assert len(result["clean.sales"]) == expected["rows_used"]

    by_region = result["revenue_by_region"]
    assert set(by_region) == set(expected["by_region"])
    for region, revenue in expected["by_region"].items():
        assert by_region[region] == pytest.approx(float(revenue), abs=0.005)
    assert list(by_region.values()) == sorted(by_region.values(), reverse=True)

    top = result["top_products"]
    assert len(top) == 3
    best_units = sorted(expected["units"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [(p.product, p.units) for p in top] == best_units

    headline = result["summary"]
    assert headline["total_revenue"] == pytest.approx(float(expected["total_revenue"]), abs=0.02)
    assert headline["total_units"] == expected["total_units"]
    assert headline["best_region"] == expected["best_region"]
    assert headline["top_product"] == best_units[0][0]
    assert headline["rows_used"] == expected["rows_used"]
    assert result["summary.rows_dropped"] == expected["invalid"] + expected["duplicates"]

    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Sales report\n")
    assert f"- Best region: {expected['best_region']}" in text
    for region in expected["by_region"]:
        assert f"| {region} | " in text


def test_csv_report_branches_share_the_cleaning(csv_report: ModuleType, tmp_path: Path) -> None:
    flow = flowdsl.Flow.from_module(csv_report)
    stages = flow.stages()
    assert stages[:2] == [["load"], ["clean"]]
    assert sorted(stages[2]) == ["revenue_by_region", "top_products"]
    result = flow.run(outputs=["top_products"], inputs={"top_n": 2})
    assert len(result["top_products"]) == 2
    assert "report" not in result.states  # no report path needed for this output


def test_csv_report_reads_another_file(csv_report: ModuleType, tmp_path: Path) -> None:
    data = tmp_path / "tiny.csv"
    data.write_text(
        "date,region,product,units,unit_price\n"
        "2024-01-01, north ,widget,2,1.50\n"
        "\n"
        "2024-01-02,South,Gadget,1,10\n"
        "2024-01-02,South,Gadget,1,10\n"
        "2024-01-03,South,Gadget,x,10\n",
        encoding="utf-8",
    )
    result = flowdsl.Flow.from_module(csv_report).run(
        {"csv_path": str(data), "report_path": str(tmp_path / "r.md")}
    )
    assert result["revenue_by_region"] == {"South": 10.0, "North": 3.0}
    assert result["summary"]["rows_used"] == 2
    assert result["summary"]["rows_dropped"] == 2


def test_csv_report_script_writes_the_report_where_told(
    expected: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "report.md"

    out = run_example(EXAMPLES / "csv_report.py", str(target))

    assert f"report written to {target}" in out
    assert target.exists()
    total = re.search(r"^total revenue: ([\d.]+)$", out, re.MULTILINE)
    assert total is not None
    assert float(total.group(1)) == pytest.approx(float(expected["total_revenue"]), abs=0.02)
    assert f"units sold: {expected['total_units']}" in out
    assert f"best region: {expected['best_region']}" in out
    assert (
        f"rows used: {expected['rows_used']}, blank: {expected['blank']}, "
        f"invalid: {expected['invalid']}, duplicates: {expected['duplicates']}"
    ) in out


def test_csv_report_script_takes_the_path_from_the_environment(tmp_path: Path) -> None:
    target = tmp_path / "env" / "report.md"
    out = run_example(EXAMPLES / "csv_report.py", cwd=tmp_path, CSV_REPORT_PATH=str(target))
    assert f"report written to {target}" in out
    assert "## Revenue by region" in target.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the run report


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
def test_run_report_writes_the_report_where_told(tmp_path: Path) -> None:
    target = tmp_path / "sales.html"
    out = run_example(EXAMPLES / "run_report.py", str(target))
    assert "  fetch_prices: completed (calls: retried, completed)" in out.splitlines()
    assert "  revenue: completed (calls: cache hit)" in out.splitlines()
    assert "critical path: fetch_prices -> revenue -> summary" in out.splitlines()
    text = target.read_text(encoding="utf-8")
    assert 'class="fd-b fd-retried' in text
    assert 'class="fd-b fd-hit' in text


# --------------------------------------------------------------------------- the feature pipeline


def test_feature_pipeline_builds_features_warns_and_caches() -> None:
    pytest.importorskip("pandas")
    out = run_example(EXAMPLES / "feature_pipeline.py")
    header = out.splitlines()[0].split()
    assert header == ["age_band", "income_z", "spend_per_visit", "mean_income"]
    assert len([line for line in out.splitlines() if line.startswith("c0")]) == 8
    assert "check 'no negative spend' failed at return['c004']: got -1.25 (float)" in out
    assert "'within 3 standard deviations' (fail): passed" in out
    assert "second run, from the cache: age_band, clean, income_z, mean_income" in out
    assert "a frame without the columns: customers | no column 'age'" in out


# --------------------------------------------------------------------------- reuse


def test_reuse_example_makes_many_vertices_from_one_function() -> None:
    out = run_example(EXAMPLES / "reuse.py")
    assert "visits_lag_3  [None, None, None, 100.0]" in out
    assert "in_thousands  [1.5, 2.5]" in out
    assert "inputs: ['days', 'raw']" in out


@pytest.mark.parametrize(("region", "rate"), [("EU", 0.20), ("US", 0.07)])
def test_coming_from_hamilton_computes_what_a_plain_loop_does(region: str, rate: float) -> None:
    module = import_file(EXAMPLES / "coming_from_hamilton.py")
    out = run_example(EXAMPLES / "coming_from_hamilton.py", region)
    weeks = {column: values[-4:] for column, values in module.WEEKS.items()}
    # The same figures, computed without flowdsl.
    revenue_avg_2 = [sum(weeks["revenue"][i - 2 : i]) / 2 for i in range(2, 5)]
    orders_avg_2 = [sum(weeks["orders"][i - 2 : i]) / 2 for i in range(2, 5)]
    assert f"region: {region}" in out
    assert f"revenue_avg_2: {revenue_avg_2}" in out
    assert f"net_revenue:   {round(sum(weeks['revenue']) * (1 - rate), 2)}" in out
    assert f"order_trend:   {round(orders_avg_2[-1] - orders_avg_2[0], 2)}" in out
    assert "weekly report vertices: ['net_revenue', 'order_trend']" in out


def test_coming_from_pipefunc_computes_what_a_plain_loop_does() -> None:
    module = import_file(EXAMPLES / "coming_from_pipefunc.py")
    out = run_example(EXAMPLES / "coming_from_pipefunc.py")
    cleaned = [v for v in module.READINGS if v != -999.0]
    median = sorted(cleaned)[len(cleaned) // 2]
    low, high = median - 3.0, median + 3.0
    assert f"cleaned: {cleaned}" in out
    assert f"band:    {low} to {high}" in out
    assert f"flagged: {[v for v in cleaned if not low <= v <= high]}" in out
