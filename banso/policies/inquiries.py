"""Who sees and answers which inquiries (INQ-1): the secretariat all of them, finance the travel questions,
an officer what they sent signed in — and only those messages, whatever was merged into it."""
from __future__ import annotations

from sqlalchemy import true

from banso.models import Inquiry, Role, User

STAFF = (Role.ADMIN, Role.SECRETARIAT)
HANDLERS = (*STAFF, Role.FINANCE)


def visible_condition(user: User):
    """Which inquiries the user sees, as SQL: the lists, the single views and a thread's merged parts ask it."""
    if user.has_role(*STAFF):
        return true()
    if user.has_role(Role.FINANCE):
        return Inquiry.category == "travel"
    return Inquiry.submitted_by_id == user.id


def may_handle(inquiry: Inquiry, user: User) -> bool:
    """Staff answer everything; finance answers the travel questions."""
    return user.has_role(*STAFF) or (user.has_role(Role.FINANCE) and inquiry.category == "travel")


def may_answer(inquiry: Inquiry, user: User) -> bool:
    """What the inquiry's page offers to act on it: someone who may handle it, while it is not merged away (a merged
    duplicate is answered on its target)."""
    return may_handle(inquiry, user) and inquiry.merged_into_id is None


def may_record(user: User) -> bool:
    """Recording phone calls and e-mails, importing .eml files, the reply templates, merging and linking: staff."""
    return user.has_role(*STAFF)


def sees_travel_only(user: User) -> bool:
    return user.has_role(Role.FINANCE)


def may_follow_links(user: User) -> bool:
    """The links from an inquiry to its municipality, application and team pages (the secretariat's pages)."""
    return user.has_role(*STAFF)


def may_be_assigned(user: User) -> bool:
    return user.has_role(*HANDLERS)
