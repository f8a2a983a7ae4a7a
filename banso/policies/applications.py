"""Who works on the surveys and municipalities (APP-1…6): the secretariat receives, checks and decides the answers
and keeps the municipality register; an admin confirms a population and accepts a late answer (``admin``)."""
from __future__ import annotations

from banso.models import User
from banso.policies.roles import is_staff


def may_handle(user: User) -> bool:
    """The applications, continuation answers, survey requests and municipality pages."""
    return is_staff(user)
