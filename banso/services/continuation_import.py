"""継続意向調査 (APP-4) answered on the spreadsheet the secretariat sends out: the municipalities supported in the
previous phase fill in their wish, and their files come back by e-mail. Registered with the shared import flow
(``banso.services.imports``): every row checked and previewed with its errors, stored all at once or not at all,
each row through the same ``applications.record_continuation`` as an answer typed on the page. The blank file to fill
is the export of the continuation page, in this layout."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from flask import url_for

from banso.extensions import db
from banso.models import Application, ImportBatch, User
from banso.reference import PREFECTURES, typed
from banso.services import applications, imports, municipal_lookup
from banso.services.import_templates import Guide

KIND = "continuations"
COLUMNS: list[tuple[str, str]] = [
    ("団体コード", "code"), ("都道府県", "prefecture"), ("市町村名", "name"),
    ("継続の希望（希望する・希望しない）", "wish"), ("課題の変更点", "issue_changes"),
]
WISH_HEADER = "継続の希望（希望する・希望しない）"
WISH = {"希望する": True, "する": True, "希望": True, "継続": True, "はい": True, "有": True, "○": True, "〇": True,
        "希望しない": False, "しない": False, "いいえ": False, "終了": False, "無": False, "×": False}


GUIDE = {
    "団体コード": Guide("6桁の全国地方公共団体コード。分からなければ空欄にして、都道府県と市町村名を記入してください。", example="012033"),
    "都道府県": Guide(choices=tuple(PREFECTURES), example="北海道", strict=True), "市町村名": Guide(example="小樽市"),
    WISH_HEADER: Guide("前期の伴走支援を今期も続けることを希望するか。", ("希望する", "希望しない"), "希望する", strict=True),
    "課題の変更点": Guide("前期の回答から課題が変わった点があれば記入してください。", example="観光に加えて二次交通が課題になりました。"),
}


def wish(text: str) -> bool | None:
    """希望する / 希望しない as people write them (full-width, spaces, ○ and ×); None when it says neither."""
    return WISH.get("".join(unicodedata.normalize("NFKC", text or "").split()))


@dataclass
class _Context:
    lookup: municipal_lookup.Lookup
    previous: dict[int, Application]    # the previous phase's supported municipality → its application
    answered: set[int]
    seen: set[int]


class ContinuationImporter:
    kind = KIND
    title = "継続意向調査の回答"
    columns = COLUMNS
    guide = GUIDE
    required = {WISH_HEADER}

    def check_headers(self, found: set[str]) -> list[str]:
        if "団体コード" not in found and not {"都道府県", "市町村名"} <= found:
            return ["団体コード（または 都道府県・市町村名）"]
        return []

    def context(self, batch: ImportBatch) -> _Context:
        previous, answered = {}, set()
        for application, response in applications.continuation_rows(batch.phase):
            previous[application.municipality_id] = application
            if response is not None and response.answered_at is not None:
                answered.add(application.municipality_id)
        return _Context(municipal_lookup.Lookup(), previous, answered, set())

    def check_row(self, values: dict[str, str], ctx: _Context) -> imports.Row:
        code, prefecture, name = values.get("団体コード", ""), values.get("都道府県", ""), values.get("市町村名", "")
        reading = ctx.lookup.resolve(code, prefecture, name)
        found = reading.municipality
        row = imports.Row(label=found.full_name if found else f"{prefecture}{name}".strip() or typed(code))
        if found is None:
            row.errors[reading.column] = reading.problem
            return row
        if reading.note:
            row.warnings.append(f"団体コード: {reading.note}")
        if found.id not in ctx.previous:
            row.errors["団体コード"] = f"{found.full_name}は前期の支援先ではないため、継続意向調査の対象ではありません（APP-4）。"
        elif found.id in ctx.answered:
            row.errors["団体コード"] = f"{found.full_name}の継続意向は回答済みです。直すときは継続意向調査の画面で確認してください。"
        elif found.id in ctx.seen:
            row.errors["団体コード"] = f"{found.full_name}の行が重複しています。1行にまとめてください。"
        wished = wish(values.get(WISH_HEADER, ""))
        if wished is None:
            row.errors[WISH_HEADER] = "「希望する」か「希望しない」を記入してください。"
        ctx.seen.add(found.id)
        row.summary = "継続を希望" if wished else "継続を希望しない" if wished is False else ""
        row.data = {"application_id": ctx.previous[found.id].id if found.id in ctx.previous else None,
                    "wishes_to_continue": wished, "issue_changes": (values.get("課題の変更点") or "").strip()}
        return row

    def store(self, batch: ImportBatch, row: dict, actor: User | None) -> None:
        data = row["data"]
        applications.record_continuation(batch.phase, db.session.get(Application, data["application_id"]),
                                         wishes_to_continue=data["wishes_to_continue"], issue_changes=data["issue_changes"],
                                         actor=actor)

    def done_url(self, batch: ImportBatch) -> str:
        return url_for("applications.continuation", phase=batch.phase.number)


imports.register(ContinuationImporter())


def export_row(application: Application, response) -> list:
    """A previous phase's supported municipality as a row of the file to fill (its answer, if any, filled in)."""
    m = application.municipality
    answered = response is not None and response.answered_at is not None
    return [m.code, m.prefecture, m.name,
            ("希望する" if response.wishes_to_continue else "希望しない") if answered else "",
            response.issue_changes if answered else ""]
