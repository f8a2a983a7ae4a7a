"""A document's files from its content: Word from a template an admin may replace (docxtpl: the template is an
ordinary .docx with {{ … }} in it, edited in Word), and PDF from Banso's HTML layout (WeasyPrint, the IPA fonts
embedded). docxtpl because a 公文書's layout lives in Word at the ministry, and WeasyPrint because it sets Japanese
text on A4 with the fonts embedded and no browser or office suite to run; both are kept libraries."""
from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docxtpl import DocxTemplate
from flask import current_app

from banso.services import InputError
from banso.services.documents.kinds import Content

FONT = "ＭＳ 明朝"  # what a ministry's Word sets 公文書 in; the PDF uses IPA明朝, its free counterpart
SAMPLE = Content(title="（見本）表題", to="見本市長 様", recipient="見本市", lines=["本文の1段落目。", "本文の2段落目。"],
                 rows=[("項目", "内容")], sender="発信者")


def template_path(kind: str) -> Path:
    """An admin's own template for ``kind`` (instance/document_templates/<kind>.docx), if one was uploaded."""
    return Path(current_app.instance_path) / "document_templates" / f"{kind}.docx"


def default_template() -> bytes:
    """Banso's own layout, as a .docx to edit: number and date at the right, the addressee, the sender, the title,
    the body, 記 and a table of the items."""
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(11)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)

    def paragraph(text: str, align=None, bold=False, size=None):
        p = document.add_paragraph()
        run = p.add_run(text)
        run.bold = bold
        if size:
            run.font.size = Pt(size)
        if align is not None:
            p.alignment = align
        return p

    right, centre = WD_ALIGN_PARAGRAPH.RIGHT, WD_ALIGN_PARAGRAPH.CENTER
    paragraph("{{ number }}", right)
    paragraph("{{ date }}", right)
    paragraph("{{ to }}")
    paragraph("{{ sender }}", right)
    paragraph("{{ title }}", centre, bold=True, size=14)
    paragraph("{%p for line in lines %}")
    paragraph("　{{ line }}")
    paragraph("{%p endfor %}")
    paragraph("{%p if rows %}")
    paragraph("記", centre)
    paragraph("{%p endif %}")
    table = document.add_table(rows=3, cols=2)
    table.style = "Table Grid"
    table.cell(0, 0).text = "{%tr for row in rows %}"
    table.cell(1, 0).text, table.cell(1, 1).text = "{{ row[0] }}", "{{ row[1] }}"
    table.cell(2, 0).text = "{%tr endfor %}"
    paragraph("以上", right)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def template_bytes(kind: str) -> bytes:
    path = template_path(kind)
    return path.read_bytes() if path.exists() else default_template()


def _values(content: Content, number: str, date_text: str) -> dict:
    return {"number": number, "date": date_text, "to": content.to, "sender": content.sender, "title": content.title,
            "lines": content.lines, "rows": [list(row) for row in content.rows], "recipient": content.recipient}


def docx(kind: str, content: Content, number: str, date_text: str, template: bytes | None = None) -> bytes:
    document = DocxTemplate(io.BytesIO(template if template is not None else template_bytes(kind)))
    document.render(_values(content, number, date_text))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def check_template(data: bytes) -> None:
    """An uploaded template must open and fill in: refused with what went wrong, before it replaces anything."""
    try:
        docx("check", SAMPLE, "見本第1号", "令和8年4月1日", template=data)
    except Exception as exc:  # docxtpl and python-docx raise many kinds for a broken file or a broken {{ … }}
        raise InputError(f"Wordのひな形として使えません（{type(exc).__name__}: {str(exc)[:200]}）。"
                         "{{ number }} などの差し込み記号と、ファイルが壊れていないかをご確認ください。", "file") from exc


def pdf_available() -> bool:
    """WeasyPrint needs Pango on the machine (Debian: libpango-1.0-0, libpangoft2-1.0-0)."""
    try:
        import weasyprint  # noqa: F401
    except OSError:
        return False
    return True


def pdf(content: Content, number: str, date_text: str) -> bytes | None:
    """The A4 PDF, or None where it cannot be made here (the Word file is made all the same)."""
    if not pdf_available():
        return None
    from weasyprint import HTML

    # The layout alone (no page furniture, no request): the worker makes it.
    html = current_app.jinja_env.get_template("documents/pdf.html").render(**_values(content, number, date_text))
    return HTML(string=html).write_pdf()
