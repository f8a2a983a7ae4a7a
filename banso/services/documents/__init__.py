"""発出文書 (issue 33): the 辞令 of an officer's 併任 and the letters to a municipality (支援決定通知, 不成立通知,
支援官交代通知), made on the worker as Word and PDF, numbered without gaps per fiscal year, kept as issued and listed on
a register. Three modules along the work: kinds (what each document says) ← render (Word and PDF) ← issuing (numbers,
batches on the worker, the register, the admin's templates)."""
from __future__ import annotations

from banso.services.documents.kinds import KINDS, Content
from banso.services.documents.render import default_template, pdf_available, template_bytes, template_path
from banso.services.documents.issuing import (CHUNK, counts_by_kind, fiscal_years, issue, next_serial, number_text,
                                              register_query, replace_template, request_batch, run)

__all__ = ["KINDS", "Content", "default_template", "pdf_available", "template_bytes", "template_path", "CHUNK",
           "counts_by_kind", "fiscal_years", "issue", "next_serial", "number_text", "register_query", "replace_template",
           "request_batch", "run"]
