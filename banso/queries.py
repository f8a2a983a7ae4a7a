"""SQL helpers the services share (no request, no view): what both databases need said the same way."""
from __future__ import annotations

from sqlalchemy import Text, cast, or_


def json_list_contains(column, number: int):
    """Filter on a JSON list of small integers (stored as text "[4, 14]" on SQLite and PostgreSQL)."""
    text = cast(column, Text)
    return or_(text.like(f"[{number}]"), text.like(f"[{number},%"), text.like(f"% {number},%"), text.like(f"% {number}]"))
