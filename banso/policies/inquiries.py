"""Who sees and answers which inquiries (INQ-1): the secretariat all of them, finance the travel questions,
an officer what they sent signed in — and only those messages, whatever was merged into it."""
from __future__ import annotations

from sqlalchemy import true

from banso.models import Inquiry, InquiryStatus, User
from banso.policies.roles import is_finance, is_officer, is_staff, signed_in


def visible_condition(user: User):
    """Which inquiries the user sees, as SQL: the lists, the single views and a thread's merged parts ask it."""
    if is_staff(user):
        return true()
    if is_finance(user):
        return Inquiry.category == "travel"
    return Inquiry.submitted_by_id == user.id


def may_handle(inquiry: Inquiry, user: User) -> bool:
    """Staff answer everything; finance answers the travel questions."""
    return is_staff(user) or (is_finance(user) and inquiry.category == "travel")


def may_answer(inquiry: Inquiry, user: User) -> bool:
    """What the inquiry's page offers to act on it: someone who may handle it, while it is not merged away (a merged
    duplicate is answered on its target)."""
    return may_handle(inquiry, user) and inquiry.merged_into_id is None


def may_record(user: User) -> bool:
    """Recording phone calls and e-mails, importing .eml files, the reply templates, merging and linking: staff."""
    return is_staff(user)


def sees_travel_only(user: User) -> bool:
    return is_finance(user)


def may_follow_links(user: User) -> bool:
    """The links from an inquiry to its municipality, application and team pages (the secretariat's pages)."""
    return is_staff(user)


def may_be_assigned(user: User) -> bool:
    return may_handle_any(user)


def may_handle_any(user: User) -> bool:
    """The inquiry lists, reports and answering pages: the secretariat and finance (each sees its part)."""
    return is_staff(user) or is_finance(user)


def asks_as_officer(user: User) -> bool:
    """An officer's own inquiries (問い合わせ, their list and threads): sent signed in, answered to them."""
    return is_officer(user)


def may_open_attachments(user: User) -> bool:
    """Any role may ask for an attachment; the inquiry it belongs to decides (visible_condition)."""
    return signed_in(user)


def may_promote(inquiry: Inquiry, user: User) -> bool:
    """An answered (or closed) inquiry may become an FAQ entry, by the secretariat."""
    return inquiry.status in (InquiryStatus.ANSWERED, InquiryStatus.CLOSED) and may_record(user)
