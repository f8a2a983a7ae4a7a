"""Issue 31: a fuzz pass over the mail intake — random structures (nesting, many parts), file names in every way
mail programs write them (RFC 2231, RFC 2047, raw 8-bit, with control characters, paths and bidi marks) and
charsets. Whatever arrives from the mailbox is recorded and never an error; its attachment names are safe; at
most MAIL_MAX_FILES are kept."""
import base64
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import InboundMail, InquiryAttachment
from banso.services import inquiries
from banso.services.inquiries import MAIL_MAX_FILES

NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40) | st.sampled_from(
    ["①資料.xlsx", "a\r\nX: y.pdf", "..\\..\\x.txt", "/etc/passwd", "\u202egpj.exe", "㈱報告.docx", " .", "名前" * 200])
CHARSETS = st.sampled_from(["utf-8", "shift_jis", "iso-2022-jp", "euc-jp", "cp932", "x-unknown", "latin-1"])


def _encode(name: str, charset: str, how: str) -> bytes:
    codec = {"shift_jis": "cp932", "iso-2022-jp": "iso2022_jp_2", "x-unknown": "utf-8"}.get(charset, charset)
    data = name.encode(codec, errors="replace")
    if how == "2231":
        return f"filename*={charset}''".encode() + "".join(f"%{b:02X}" for b in data).encode()
    if how == "2047":
        return f'filename="=?{charset}?B?'.encode() + base64.b64encode(data) + b'?="'
    return b'filename="' + data.replace(b'"', b"") + b'"'


PARTS = st.lists(st.tuples(NAMES, CHARSETS, st.sampled_from(["2231", "2047", "raw"]), st.binary(max_size=40),
                           st.integers(0, 3)), max_size=70)


def _mail(parts, depth: int) -> bytes:
    leaves = b"".join(b"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
                      + _encode(name, charset, how) + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                      + base64.b64encode(data) + b"\r\n" for name, charset, how, data, _ in parts)
    body = b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n' + leaves + b"--B--\r\n"
    for level in range(depth):
        body = (f'Content-Type: multipart/mixed; boundary="N{level}"\r\n\r\n--N{level}\r\n'.encode() + body
                + f"\r\n--N{level}--\r\n".encode())
    return b"From: fuzz@example.lg.jp\r\nSubject: fuzz\r\nMIME-Version: 1.0\r\n" + body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=PARTS, depth=st.integers(0, 12), noise=st.binary(max_size=200))
def test_whatever_arrives_is_recorded_with_safe_names_and_never_an_error(ctx, parts, depth, noise):
    raw = _mail(parts, depth) + noise
    try:
        inquiries.take_in(raw, source="imap", actor=None)  # from the mailbox: recorded, whatever it is
        assert db.session.scalar(select(func.count()).select_from(InboundMail)) == 1
        names = db.session.scalars(select(InquiryAttachment.filename)).all()
        assert len(names) <= MAIL_MAX_FILES
        for name in names:
            assert name and len(name) <= 255 and "/" not in name and "\\" not in name
            assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name), repr(name)
    finally:
        db.session.rollback()  # each example starts from the same world
