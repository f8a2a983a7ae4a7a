"""Who takes the publication's steps (PUB-1…4): the secretariat confirms and sends the advance notices; only an
admin unlocks a confirmed matching, asks for or confirms an early release, releases, and allows sharing with
prefectures before release. The hold itself (who sees the matching) is ``hold``."""
from __future__ import annotations

from banso.models import Publication, PublicationStatus, User
from banso.policies.roles import is_admin, is_staff

# Confirmed (and perhaps notified): the advance notices may go, an admin may unlock or ask for an early release.
NOTIFIABLE = (PublicationStatus.CONFIRMED, PublicationStatus.NOTIFIED)


def may_prepare(user: User) -> bool:
    """Confirming the matching and sending the advance notices."""
    return is_staff(user)


def may_decide(user: User) -> bool:
    """Unlocking, early release (asking or confirming), releasing, sharing with prefectures before release."""
    return is_admin(user)


def may_see_results(user: User) -> bool:
    """The programme's figures (実績) name supported municipalities of every phase: the secretariat's."""
    return is_staff(user)


def may_notify(record: Publication, user: User) -> bool:
    return record.status in NOTIFIABLE and may_prepare(user)


def may_unlock(record: Publication, user: User) -> bool:
    """Unlocking a confirmed matching and asking for an early release, before the release."""
    return record.status in NOTIFIABLE and may_decide(user)


def may_release(record: Publication, user: User) -> bool:
    """The release follows the advance notice (PUB-2, PUB-3)."""
    return record.status == PublicationStatus.NOTIFIED and may_decide(user)
