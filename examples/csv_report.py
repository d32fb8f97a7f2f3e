"""A sales report as a flow: load a CSV, clean it, summarise it on two branches, write Markdown.

::

    load -> clean -+-> revenue_by_region -+-> summary -> report
                   +-> top_products ------+

Run it from a checkout::

    python examples/csv_report.py [REPORT_PATH] [CSV_PATH]

The report goes to ``REPORT_PATH`` (default: the ``CSV_REPORT_PATH``
environment variable, else ``sales_report.md`` in the current directory);
the data comes from ``CSV_PATH`` (default: ``examples/data/sales.csv``).
"""

from __future__ import annotations

import csv
import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypedDict

import flowdsl
from flowdsl import From, vertex

DATA = Path(__file__).resolve().parent / "data" / "sales.csv"
COLUMNS = ("date", "region", "product", "units", "unit_price")


@dataclass(frozen=True)
class Sale:
    """One clean row of the sales file."""

    date: str
    region: str
    product: str
    units: int
    unit_price: float

    @property
    def revenue(self) -> float:
        return self.units * self.unit_price


class RawTable(TypedDict):
    header: list[str]
    rows: list[list[str]]


class Cleaned(TypedDict):
    sales: list[Sale]
    blank: int  # blank lines and rows of empty cells
    invalid: list[str]  # rows dropped because a value is missing or malformed
    duplicates: int  # exact repeats of an earlier row


@dataclass(frozen=True)
class ProductRank:
    product: str
    units: int
    revenue: float


class Summary(TypedDict):
    total_revenue: float
    total_units: int
    best_region: str
    top_product: str
    rows_used: int
    rows_dropped: int


@vertex
def load(csv_path: str = str(DATA)) -> RawTable:
    """Read the file as text cells; nothing is interpreted yet."""
    with open(csv_path, newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = [cell.strip().lower() for cell in next(reader)]
        rows = list(reader)
    return {"header": header, "rows": rows}


@vertex
def clean(
    header: Annotated[list[str], From("load.header")],
    rows: Annotated[list[list[str]], From("load.rows")],
) -> Cleaned:
    """Strip whitespace, skip blank rows, drop invalid ones and exact duplicates."""
    index = {name: header.index(name) for name in COLUMNS}
    sales: list[Sale] = []
    seen: set[Sale] = set()
    blank = duplicates = 0
    invalid: list[str] = []
    for row in rows:
        cells = [cell.strip() for cell in row]
        if not any(cells):
            blank += 1
            continue
        try:
            sale = Sale(
                date=cells[index["date"]],
                region=cells[index["region"]].title(),
                product=cells[index["product"]].title(),
                units=int(cells[index["units"]]),
                unit_price=float(cells[index["unit_price"]]),
            )
        except (IndexError, ValueError):
            invalid.append(",".join(cells))
            continue
        if sale in seen:
            duplicates += 1
            continue
        seen.add(sale)
        sales.append(sale)
    return {"sales": sales, "blank": blank, "invalid": invalid, "duplicates": duplicates}


@vertex
def revenue_by_region(sales: Annotated[list[Sale], From("clean.sales")]) -> dict[str, float]:
    """Revenue per region, largest first."""
    totals: dict[str, float] = defaultdict(float)
    for sale in sales:
        totals[sale.region] += sale.revenue
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return {region: round(revenue, 2) for region, revenue in ranked}


@vertex
def top_products(
    sales: Annotated[list[Sale], From("clean.sales")], top_n: int = 3
) -> list[ProductRank]:
    """The ``top_n`` products by units sold (ties broken by name)."""
    units: dict[str, int] = defaultdict(int)
    revenue: dict[str, float] = defaultdict(float)
    for sale in sales:
        units[sale.product] += sale.units
        revenue[sale.product] += sale.revenue
    ranked = sorted(units, key=lambda product: (-units[product], product))
    return [ProductRank(p, units[p], round(revenue[p], 2)) for p in ranked[:top_n]]


@vertex
def summary(
    revenue_by_region: dict[str, float], top_products: list[ProductRank], clean: Cleaned
) -> Summary:
    """Join the two branches into the headline numbers."""
    sales = clean["sales"]
    return {
        "total_revenue": round(sum(revenue_by_region.values()), 2),
        "total_units": sum(sale.units for sale in sales),
        "best_region": next(iter(revenue_by_region)),
        "top_product": top_products[0].product,
        "rows_used": len(sales),
        "rows_dropped": len(clean["invalid"]) + clean["duplicates"],
    }


@vertex
def report(
    summary: Summary,
    revenue_by_region: dict[str, float],
    top_products: list[ProductRank],
    invalid: Annotated[list[str], From("clean.invalid")],
    report_path: str,
) -> str:
    """Write the Markdown report; its path is the output."""
    lines = [
        "# Sales report",
        "",
        f"- Total revenue: {summary['total_revenue']:,.2f}",
        f"- Units sold: {summary['total_units']}",
        f"- Best region: {summary['best_region']}",
        f"- Top product: {summary['top_product']}",
        f"- Rows used: {summary['rows_used']} (dropped: {summary['rows_dropped']})",
        "",
        "## Revenue by region",
        "",
        "| Region | Revenue |",
        "|---|---:|",
        *(f"| {region} | {revenue:,.2f} |" for region, revenue in revenue_by_region.items()),
        "",
        "## Top products by units",
        "",
        "| Product | Units | Revenue |",
        "|---|---:|---:|",
        *(f"| {p.product} | {p.units} | {p.revenue:,.2f} |" for p in top_products),
    ]
    if invalid:
        lines += ["", "## Rows dropped as invalid", "", *(f"- `{row}`" for row in invalid)]
    path = Path(report_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def main(argv: list[str]) -> None:
    report_path = argv[0] if argv else os.environ.get("CSV_REPORT_PATH", "sales_report.md")
    inputs = {"report_path": report_path}
    if len(argv) > 1:
        inputs["csv_path"] = argv[1]
    flow = flowdsl.Flow.from_module(sys.modules[__name__])
    result = flow.run(inputs)
    headline = result["summary"]
    print(f"report written to {result['report']}")
    print(f"total revenue: {headline['total_revenue']:.2f}")
    print(f"units sold: {headline['total_units']}")
    print(f"best region: {headline['best_region']}")
    print(f"top product: {headline['top_product']}")
    print(
        f"rows used: {headline['rows_used']}, blank: {result['clean.blank']}, "
        f"invalid: {len(result['clean.invalid'])}, duplicates: {result['clean.duplicates']}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
