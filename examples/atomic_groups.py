"""Atomic groups: vertices that commit together, or leave nothing behind.

Run it from a checkout: ``python examples/atomic_groups.py``.
"""

from __future__ import annotations

import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Annotated, TypedDict

import flowdsl
from flowdsl import AtomicGroup, SQLiteTransaction, Transaction, vertex

Db = Annotated[sqlite3.Connection, Transaction()]


class Order(TypedDict):
    customer: str
    amount: int


def build(database: Path) -> flowdsl.Flow:
    payment = AtomicGroup("payment", backend=SQLiteTransaction(database))

    @vertex
    def order(customer: str, amount: int) -> Order:
        return {"customer": customer, "amount": amount}

    @vertex(group=payment)
    def debit(order: Order, db: Db) -> int:
        cursor = db.execute(
            "INSERT INTO ledger (customer, amount) VALUES (?, ?)",
            (order["customer"], -order["amount"]),
        )
        return int(cursor.lastrowid or 0)

    @vertex(group=payment)
    def credit(debit: int, order: Order, db: Db) -> int:
        if order["amount"] > 100:
            raise ValueError("over the limit")
        db.execute("INSERT INTO ledger (customer, amount) VALUES ('shop', ?)", (order["amount"],))
        return debit

    @vertex
    def receipt(credit: int) -> str:
        return f"receipt #{credit}"

    return flowdsl.Flow.from_functions(order, debit, credit, receipt)


def bulk_load(database: Path) -> flowdsl.Flow:
    # A member that outlives its timeout: interrupted, waited for, rolled back.
    bulk = AtomicGroup("bulk", backend=SQLiteTransaction(database))

    @vertex(group=bulk, timeout=0.05)
    def load(count: int, db: Db) -> int:
        for n in range(count):
            db.execute("INSERT INTO ledger (customer, amount) VALUES ('bulk', ?)", (n,))
        return count

    return flowdsl.Flow.from_functions(load)


def ledger(database: Path) -> list[tuple[str, int]]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute("SELECT customer, amount FROM ledger").fetchall()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "shop.db"
        with closing(sqlite3.connect(database)) as connection, connection:
            connection.execute("CREATE TABLE ledger (customer TEXT, amount INTEGER)")
        flow = build(database)

        print(flow.run({"customer": "ada", "amount": 30})["receipt"])
        print("ledger:", ledger(database))

        result = flow.run({"customer": "bob", "amount": 500}, on_error="continue")
        print("states:", {name: str(state) for name, state in result.states.items()})
        print("ledger:", ledger(database), "(bob's debit was rolled back)")

        try:
            bulk_load(database).run({"count": 10_000_000})
        except flowdsl.VertexTimeout as error:
            states = {} if error.result is None else error.result.states
            print("bulk load:", type(error).__name__, states["load"])
        print("ledger:", ledger(database), "(the interrupted load left nothing)")


if __name__ == "__main__":
    main()
