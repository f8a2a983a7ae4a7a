"""Banso's tables, one module per area. Import them all here so Alembic sees them."""
from banso.models.application import (Application, ApplicationStatus, ContinuationResponse,
                                     ImportBatch)
from banso.models.approval import Absence, ApprovalAction, ApprovalCase, ApprovalRoute
from banso.models.audit import AuditEntry
from banso.models.document import DOCUMENT_KINDS, DocumentBatch, DocumentCounter, IssuedDocument
from banso.models.inquiry import (FaqEntry, InboundMail, Inquiry, InquiryAttachment, InquiryMessage, InquiryStatus,
                                  ReceiptCounter, ReplyTemplate)
from banso.models.matching import MatchingConstraint, MatchingPlan, MatchingSettings
from banso.models.municipality import Municipality, OfficialPopulation
from banso.models.notification import MailboxMessage, Notification, NotificationStatus
from banso.models.officer import (AppointmentState, CandidacyStatus, ConcurrentAppointment, Ministry, Officer,
                                 OfficerCandidacy, ProfileChangeRequest)
from banso.models.phase import Phase, PhaseEvent, PhaseFigures
from banso.models.records import PersonalRequest, RecordFile, RetentionRule
from banso.models.publication import PrefectureContact, Publication, PublicationStatus, PublishedResults
from banso.models.team import (Activity, HalfYearReport, MemberReplacement, Team, TeamActivityDates, TeamExtension,
                               TeamMembership, TeamStatus)
from banso.models.travel import (BudgetBreakdown, BudgetRevision, BudgetTotal, LodgingRate, NightAllowanceRate, Receipt,
                                 TeamTravelPlan, TravelClaim, TravelClaimLine, TripEstimateLine, TripRequest, TripStatus, TripTraveller)
from banso.models.user import AccountLink, CalendarFeed, LastSignIn, RecoveryCode, Role, SignInThrottle, Submission, User

__all__ = [
    "PersonalRequest",
    "RecordFile",
    "RetentionRule",
    "Absence",
    "ApprovalAction",
    "ApprovalCase",
    "ApprovalRoute",
    "DOCUMENT_KINDS",
    "DocumentBatch",
    "DocumentCounter",
    "IssuedDocument",
    "MatchingConstraint",
    "MatchingPlan",
    "MatchingSettings",
    "PrefectureContact",
    "Publication",
    "PublicationStatus",
    "PublishedResults",
    "FaqEntry",
    "InboundMail",
    "Inquiry",
    "InquiryAttachment",
    "InquiryMessage",
    "InquiryStatus",
    "ReceiptCounter",
    "ReplyTemplate",
    "BudgetBreakdown",
    "BudgetRevision",
    "BudgetTotal",
    "LodgingRate",
    "NightAllowanceRate",
    "Receipt",
    "TeamTravelPlan",
    "TravelClaim",
    "TravelClaimLine",
    "TripEstimateLine",
    "TripRequest",
    "TripStatus",
    "TripTraveller",
    "Activity",
    "HalfYearReport",
    "MemberReplacement",
    "Team",
    "TeamActivityDates",
    "TeamExtension",
    "TeamMembership",
    "TeamStatus",
    "AppointmentState",
    "CandidacyStatus",
    "ConcurrentAppointment",
    "Ministry",
    "Officer",
    "OfficerCandidacy",
    "ProfileChangeRequest",
    "Application",
    "ApplicationStatus",
    "ContinuationResponse",
    "ImportBatch",
    "Municipality",
    "OfficialPopulation",
    "AuditEntry",
    "MailboxMessage",
    "Notification",
    "NotificationStatus",
    "Phase",
    "PhaseFigures",
    "PhaseEvent",
    "Role",
    "LastSignIn",
    "SignInThrottle",
    "Submission",
    "User",
    "AccountLink",
    "CalendarFeed",
    "RecoveryCode",
]
