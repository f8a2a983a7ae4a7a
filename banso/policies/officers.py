"""Who sees what of the officers (OFF-1…5). The secretariat sees and filters on everything; finance needs the
travellers' names and ministries only, so it may look them up by name, kana and ministry and by nothing else
(no grade, type, expertise, eligibility, candidacy or e-mail); an officer keeps their own profile."""
from __future__ import annotations

from banso.models import ConcurrentAppointment, ProfileChangeRequest, User
from banso.models.officer import AppointmentState
from banso.policies.roles import is_finance, is_officer, is_staff

HR_FILTERS = ("grade", "officer_type", "field", "status")


def sees_hr_data(user: User) -> bool:
    """Posts, grades, contact details, expertise, eligibility and candidacies."""
    return is_staff(user)


def list_filters(user: User, args) -> dict:
    """The list's filters this user may use, taken from the request's arguments; the rest are dropped."""
    allowed = ("q", "ministry_id", *HR_FILTERS) if sees_hr_data(user) else ("q", "ministry_id")
    return {name: args.get(name) for name in allowed}


def may_filter_by_phase(user: User) -> bool:
    """A phase's applicants (who applied, who was placed) are HR data."""
    return sees_hr_data(user)


def is_own_record(officer, user: User) -> bool:
    return officer.user_id is not None and officer.user_id == user.id


def may_request_change(officer, user: User) -> bool:
    """OFF-5: an officer asks for changes to their own official record; the secretariat may file one for them."""
    return is_own_record(officer, user) or sees_hr_data(user)


def may_select(user: User) -> bool:
    """Selecting applicants for a phase (選定, one at a time or many at once) is the secretariat's."""
    return is_staff(user)


def may_list(user: User) -> bool:
    """The officer list: the secretariat, and finance by name and ministry only (the travellers)."""
    return is_staff(user) or is_finance(user)


def may_keep_records(user: User) -> bool:
    """Creating and correcting officers' records, their logins, imports and change requests: the secretariat."""
    return is_staff(user)


def may_open_any(user: User) -> bool:
    """An officer's page: the secretariat any, an officer their own (is_own_record decides which)."""
    return is_staff(user) or is_officer(user)


def keeps_own_profile(user: User) -> bool:
    """マイプロフィール and the change requests to one's own record: officers."""
    return is_officer(user)


def may_appoint(user: User) -> bool:
    """Concurrent appointments (併任発令): issuing, its tasks and ending them are the secretariat's."""
    return is_staff(user)


def awaits_decision(request: ProfileChangeRequest) -> bool:
    return request.status == "pending"


def may_decide_change(request: ProfileChangeRequest, user: User) -> bool:
    """OFF-5: the secretariat approves or rejects a change request once."""
    return awaits_decision(request) and may_keep_records(user)


def in_force(appointment: ConcurrentAppointment) -> bool:
    """An issued appointment (発令済), the only kind that is ended (解除)."""
    return appointment.state == AppointmentState.ISSUED


def may_end_appointment(appointment: ConcurrentAppointment, user: User) -> bool:
    return in_force(appointment) and may_appoint(user)
