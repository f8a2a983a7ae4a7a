"""Plain factories: make_<model>(**overrides), flushed, never committed."""
from __future__ import annotations

from datetime import date
from itertools import count

from banso.clock import jst
from banso.extensions import db
from banso.models import Phase, Role, User
from banso.services.users import hash_password

_seq = count(1)
PASSWORD = "correct-horse-battery"
_HASH = None


def make_user(role: Role | str = Role.SECRETARIAT, **overrides) -> User:
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    n = next(_seq)
    values = {"email": f"user{n}@banso.example", "name": f"利用者{n}", "role": str(role), "password_hash": _HASH}
    values.update(overrides)
    user = User(**values)
    db.session.add(user)
    db.session.flush()
    return user


def make_phase(**overrides) -> Phase:
    values = {
        "number": 2, "name": "第2期", "fiscal_year": 2026,
        "population_reference_date": date(2025, 1, 1),
        "survey_opens_at": jst(2025, 12, 1, 10), "answer_deadline_at": jst(2025, 12, 24, 17),
        "recruitment_opens_at": jst(2026, 1, 13, 10), "recruitment_closes_at": jst(2026, 2, 13, 17),
        "matching_deadline_at": jst(2026, 3, 13, 17), "publication_at": jst(2026, 3, 24, 10),
        "support_start": date(2026, 4, 1), "support_end": date(2027, 3, 31),
        "travel_budget_cap_yen": 97_000_000,
    }
    values.update(overrides)
    phase = Phase(**values)
    db.session.add(phase)
    db.session.flush()
    return phase
