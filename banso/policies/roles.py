"""The groups of roles every area's policy builds on. Only the policies name roles: routes, services and templates
ask an area's ``may_*`` predicate, never a role (tests/test_permissions_in_policies.py)."""
from __future__ import annotations

from banso.models import Role, User

STAFF = (Role.ADMIN, Role.SECRETARIAT)


def signed_in(user: User) -> bool:
    """Any active user of any role (the home page, the lists each role sees its own part of)."""
    return user.has_role(*Role)


def is_staff(user: User) -> bool:
    """The secretariat: admins and secretariat staff."""
    return user.has_role(*STAFF)


def is_admin(user: User) -> bool:
    return user.has_role(Role.ADMIN)


def is_finance(user: User) -> bool:
    return user.has_role(Role.FINANCE)


def is_officer(user: User) -> bool:
    """An officer in post: one whose last 併任 has ended is a claimant (``is_claimant``) until their account ends."""
    return user.has_role(Role.OFFICER) and user.claims_until is None


def is_claimant(user: User) -> bool:
    """An officer whose 併任 has ended, for OFFICER_CLAIMS_GRACE_DAYS (services/directory.py): they see their own trips
    and file and follow their claims, nothing else."""
    return user.has_role(Role.OFFICER) and user.claims_until is not None
