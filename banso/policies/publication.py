"""Who takes the publication's steps (PUB-1…4): the secretariat confirms and sends the advance notices; only an
admin unlocks a confirmed matching, asks for or confirms an early release, releases, and allows sharing with
prefectures before release. The hold itself (who sees the matching) is ``hold``."""
from __future__ import annotations

from banso.models import User
from banso.policies.roles import is_admin, is_staff


def may_prepare(user: User) -> bool:
    """Confirming the matching and sending the advance notices."""
    return is_staff(user)


def may_decide(user: User) -> bool:
    """Unlocking, early release (asking or confirming), releasing, sharing with prefectures before release."""
    return is_admin(user)


def may_see_results(user: User) -> bool:
    """The programme's figures (実績) name supported municipalities of every phase: the secretariat's."""
    return is_staff(user)
