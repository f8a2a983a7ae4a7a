"""Rows written in bulk, in the shapes the services write: scale data, the demo's settled trips, the bench.

Core inserts with explicit ids, a chunk at a time; after the last ``flush`` the caller moves PostgreSQL's
sequences past them (``extensions.reset_sequences``) before any service inserts again.
"""
from __future__ import annotations

from sqlalchemy import func, insert, select

from banso.extensions import db

CHUNK = 5_000


class BulkWriter:
    """Buffers rows per table, gives them ids, and inserts them in chunks."""

    def __init__(self) -> None:
        self.next_id: dict[str, int] = {}
        self.rows: dict[str, list[dict]] = {}
        self.counts: dict[str, int] = {}

    def add(self, model, **row) -> int:
        table = model.__table__
        if "id" in table.c and "id" not in row:
            if table.name not in self.next_id:  # after what the services wrote
                self.next_id[table.name] = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
            row["id"] = self.next_id[table.name]
            self.next_id[table.name] = row["id"] + 1
        self.rows.setdefault(table.name, []).append(row)
        self.counts[table.name] = self.counts.get(table.name, 0) + 1
        if len(self.rows[table.name]) >= CHUNK:
            self.flush()
        return row.get("id", 0)

    def flush(self) -> None:
        """Everything buffered, referenced tables first (PostgreSQL checks each foreign key)."""
        for table in db.metadata.sorted_tables:
            rows = self.rows.pop(table.name, [])
            for start in range(0, len(rows), CHUNK):
                _insert_uniform(table, rows[start:start + CHUNK])


def _insert_uniform(table, rows: list[dict]) -> None:
    """executemany needs one set of keys; group rows by theirs."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for group in groups.values():
        db.session.execute(insert(table), group)
