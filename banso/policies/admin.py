"""The administrator's own work: users, phases and their schedule, the official population figures, accepting
an answer after the deadline (APP-6)."""
from __future__ import annotations

from banso.models import Notification, NotificationStatus, User
from banso.policies.roles import is_admin, is_staff


def two_factor_required(user: User) -> bool:
    """Roles in MFA_REQUIRED_ROLES (admin and finance in production) sign in with two factors."""
    from flask import current_app

    return user.role in current_app.config["MFA_REQUIRED_ROLES"]


def may_turn_off_two_factor(user: User) -> bool:
    """Anyone may enrol; only those whose role does not require it may turn it off again."""
    return not two_factor_required(user)


def may_administer(user: User) -> bool:
    return is_admin(user)


def may_accept_late(user: User) -> bool:
    """APP-6: a late answer is accepted by an admin, with a recorded reason."""
    return may_administer(user)


def may_bulk_applications(user: User) -> bool:
    """Moving many answers at once (確認済, 対象) is the secretariat's, as one at a time is."""
    return is_staff(user)


def may_confirm_population(user: User) -> bool:
    """APP-1: an admin records the population confirmed where the figures cannot decide (確認要, 未確認)."""
    return may_administer(user)


def may_watch_notifications(user: User) -> bool:
    """The notifications' delivery (and resending a failed one): the secretariat, who sends them."""
    return is_staff(user)


def may_import(user: User) -> bool:
    """Uploaded files being checked and committed (applications, officers, continuation answers): the secretariat."""
    return is_staff(user)


def resendable(notification: Notification) -> bool:
    """Only a notification that failed is sent again (再送); a pending one is still being tried."""
    return notification.status == NotificationStatus.FAILED


def may_resend(notification: Notification, user: User) -> bool:
    return resendable(notification) and may_watch_notifications(user)


def may_issue_documents(user: User) -> bool:
    """Making and reading the documents Banso issues (辞令, letters to municipalities) and their register."""
    return is_staff(user)


def may_replace_document_templates(user: User) -> bool:
    """The Word templates the documents are made from are an admin's to replace."""
    return is_admin(user)
