"""Who works on the surveys and municipalities (APP-1…6): the secretariat receives, checks and decides the answers
and keeps the municipality register; an admin confirms a population and accepts a late answer (``admin``)."""
from __future__ import annotations

from banso.models import Application, ApplicationStatus, User
from banso.policies.roles import is_staff

S = ApplicationStatus
DECIDED = (S.MATCHED, S.UNMATCHED, S.WITHDRAWN)  # the answer is no longer corrected


def may_handle(user: User) -> bool:
    """The applications, continuation answers, survey requests and municipality pages."""
    return is_staff(user)


def may_correct(application: Application, user: User) -> bool:
    return application.status not in DECIDED and may_handle(user)


def population_check_open(application: Application) -> bool:
    """APP-1's confirmation is recorded while the answer is being checked (受付, 確認済), before it is decided."""
    return application.status in (S.RECEIVED, S.CONFIRMED)


def is_late(application: Application) -> bool:
    """An answer received after the deadline waits for an admin (APP-6)."""
    return application.status == S.LATE


SPREADSHEETS = (".xlsx", ".csv")


def is_mailed_answer_file(attachment) -> bool:
    """A kept spreadsheet that came with an incoming mail: what may be imported as the survey's answers."""
    return (attachment.kept and attachment.message.kind == "incoming"
            and attachment.filename.lower().endswith(SPREADSHEETS))


def may_import_mailed(attachment, user: User) -> bool:
    """Importing a mailed answer form from an inquiry's thread: the secretariat, for such a file."""
    return is_mailed_answer_file(attachment) and may_handle(user)
