"""Who keeps the records (公文書管理法) and answers people's requests about their data (個人情報保護法): the secretariat
reads the register and the schedule, records a consent and handles requests; an admin changes the schedule, extends a
period, sets or lifts a hold, and approves a recorded consent — never the one who recorded it."""
from __future__ import annotations

from banso.models import PersonalRequest, RecordFile, User
from banso.policies.roles import is_admin, is_staff

OPEN = ("active", "due")  # a file still held: a hold or an extension applies to it


def may_see_records(user: User) -> bool:
    """The register, the schedule, the disposition lists, the annual figures, the requests."""
    return is_staff(user)


def may_edit_schedule(user: User) -> bool:
    return is_admin(user)


def may_record_consent(file: RecordFile, user: User) -> bool:
    """The date of the Prime Minister's consent to 廃棄 (第8条第2項), recorded on a file listed for it."""
    return file.status == "due" and file.disposition == "destroy" and file.consent_on is None and is_staff(user)


def may_approve_consent(file: RecordFile, user: User) -> bool:
    """The second person: an admin other than the one who recorded the consent."""
    return (file.status == "due" and file.consent_on is not None and file.consent_approved_by_id is None
            and is_admin(user) and file.consent_recorded_by_id != user.id)


def may_hold(file: RecordFile, user: User) -> bool:
    return file.status in OPEN and is_admin(user)


def may_extend(file: RecordFile, user: User) -> bool:
    return file.status in (*OPEN, "consented") and is_admin(user)


def may_handle_requests(user: User) -> bool:
    return is_staff(user)


def may_decide_request(request: PersonalRequest, user: User) -> bool:
    return request.status == "open" and is_admin(user)
