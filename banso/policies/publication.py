"""Who takes the publication's steps (PUB-1…4): the secretariat confirms and sends the advance notices; only an
admin unlocks a confirmed matching, asks for or confirms an early release, releases, and allows sharing with
prefectures before release. The hold itself (who sees the matching) is ``hold``."""
from __future__ import annotations

from banso.models import Role, User

STAFF = (Role.ADMIN, Role.SECRETARIAT)


def may_prepare(user: User) -> bool:
    """Confirming the matching and sending the advance notices."""
    return user.has_role(*STAFF)


def may_decide(user: User) -> bool:
    """Unlocking, early release (asking or confirming), releasing, sharing with prefectures before release."""
    return user.has_role(Role.ADMIN)
