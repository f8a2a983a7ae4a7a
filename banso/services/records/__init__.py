"""Records that outlive the phase (issue 35): everything Banso records is a 行政文書 of the secretariat, and much of it
personal data. Four modules: kinds (every kind of record and which rows make up its file of a year), register (the
保存期間表, the files, the 行政文書ファイル管理簿 with the 第7条 columns, the 第9条 figures), disposition (the daily run:
listing at expiry, 移管 packages, 廃棄 after a consent recorded by one person and approved by another, holds,
extensions) and personal (each personal field's policy, anonymisation, 開示・訂正・利用停止). Callers ask
``records.<name>``."""
from __future__ import annotations

from banso.services.records.kinds import KINDS, count, fiscal_year_of
from banso.services.records.register import (REGISTER_COLUMNS, rules, rule_for, update_rule, ensure_files, files_query,
                                             register_row, YearReport, year_report, counts_by_status, expiry)
from banso.services.records.disposition import (run, record_consent, approve_consent, set_hold, extend, destroy,
                                                transfer, package_of, verify_package)
from banso.services.records.personal import (FIELDS, KEPT, anonymise_due, held_about, disclosure_package, receive,
                                             files_holding, extend_due, decide, overdue, CORRECTABLE)


def daily(day=None) -> dict[str, int]:
    """The worker's daily round: the disposition run and the officers' anonymisation."""
    done = run(day)
    done["anonymised"] = anonymise_due(day)
    return done


__all__ = ["KINDS", "count", "fiscal_year_of", "REGISTER_COLUMNS", "rules", "rule_for", "update_rule", "ensure_files",
           "files_query", "register_row", "YearReport", "year_report", "counts_by_status", "expiry", "run",
           "record_consent", "approve_consent", "set_hold", "extend", "destroy", "transfer", "package_of",
           "verify_package", "FIELDS", "KEPT", "anonymise_due", "held_about", "disclosure_package", "receive",
           "files_holding", "extend_due", "decide", "overdue", "CORRECTABLE", "daily"]
