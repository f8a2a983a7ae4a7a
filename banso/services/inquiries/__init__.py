"""問い合わせ (INQ-1): every inquiry — by the public form, e-mail or phone — is recorded with a
receipt number, an owner, a due date in business days and its whole thread, and is answered
from Banso through the outbox.

Business days (banso/business_days.py) exclude weekends, national holidays and the year-end closure
12/29–1/3. The response clock pauses while the secretariat waits for the inquirer.

One package, five modules along the work: receiving (the form, receipt numbers, due dates, the status link),
intake (e-mail), answering (replies, notes, status, merging, templates and FAQ), lists (who sees what, the
inbox, the reports) and watch (what the pages show live from Redis: who else is on an inquiry, the mailbox's last
fetch; the fetch itself is the worker's, worker/mailbox.py). Callers ask ``inquiries.<name>``; the modules import each other only downwards
(receiving ← answering ← intake; lists reads receiving).
"""
from __future__ import annotations

from banso.services.inquiries.receiving import (SIGNATURE, RECEIPT, REOPEN_WITHIN, SINGLE_LINE, LIMITS, due_date,
                                                check_fields, rate_refused, check_rate, receive, status_url,
                                                StatusView, status_view, submit_form, link_related, shown_to_inquirer)
from banso.services.inquiries.answering import (add_incoming, confirm_sender, INQUIRY_FIELDS, ReplyCrossed, reply,
                                                add_note, set_status, close_unanswered, assign, merge,
                                                link_municipality, page_loads, related, thread, fill_template,
                                                save_template, delete_template, promote_to_faq, faq_by_category)
from banso.services.inquiries.intake import (Imported, AlreadyTaken, MAIL_MAX_PARTS, MAIL_MAX_DEPTH, MAIL_MAX_FILES,
                                             sender_check, automatic_kind, take_in, import_eml)
from banso.services.inquiries.lists import (can_view, visible_attachment, inbound_query, original_mail, list_query,
                                            status_counts, handlers, Report, sla_met, report, parse_month,
                                            report_months, MonthlyReport, monthly_report)
from banso.services.inquiries.watch import (presence, mailbox_configured, record_mailbox_status,
                                            last_mailbox_status)

__all__ = [
    "SIGNATURE", "RECEIPT", "REOPEN_WITHIN", "SINGLE_LINE", "LIMITS", "due_date", "check_fields", "rate_refused",
    "check_rate", "receive", "status_url", "StatusView", "status_view", "submit_form", "link_related",
    "shown_to_inquirer", "add_incoming", "confirm_sender", "INQUIRY_FIELDS", "ReplyCrossed", "reply", "add_note",
    "set_status", "close_unanswered", "assign", "merge", "link_municipality", "page_loads", "related", "thread",
    "fill_template", "save_template", "delete_template", "promote_to_faq", "faq_by_category", "Imported",
    "AlreadyTaken", "MAIL_MAX_PARTS", "MAIL_MAX_DEPTH", "MAIL_MAX_FILES", "sender_check", "automatic_kind",
    "take_in", "import_eml", "can_view", "visible_attachment", "inbound_query", "original_mail", "list_query",
    "status_counts", "handlers", "Report", "sla_met", "report", "parse_month", "report_months", "MonthlyReport",
    "monthly_report", "presence", "mailbox_configured", "record_mailbox_status", "last_mailbox_status",
]
