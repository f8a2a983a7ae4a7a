"""Which municipality a row or a field means: by its 団体コード as written (check digit or not, leading zero lost),
its prefecture and its name (with or without the prefecture in front, 市・町・村 or not, variant kanji, a former
name of a merged town). When the code is short or disagrees, an unambiguous name decides, and the reading says
what it read, for the import's preview (「12165 → 012165 北海道芦別市」)."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select

from banso.extensions import db
from banso.formatting import wareki
from banso.models import Municipality
from banso.reading import code_candidates, read_prefecture, split_prefecture
from banso.reference import check_digit, normalize_name, typed

# Names that mergers retired, with their successor (平成の大合併 and after): reference data shipped with the master,
# extended the same way when a merger comes to light.
FORMER_FILE = Path(__file__).resolve().parent.parent / "data" / "former_municipalities.csv"
SUFFIXES = ("市", "町", "村", "区")


@dataclass(frozen=True)
class Reading:
    """What a row's code, prefecture and name were read as: the municipality, or the problem and its column; and a
    note for the preview when the reading is not what was written."""
    municipality: Municipality | None
    note: str | None = None
    problem: str | None = None
    column: str = "団体コード"


class Lookup:
    """Find municipalities by code or by prefecture + name, tolerating spelling variants."""

    def __init__(self):
        municipalities = list(db.session.scalars(select(Municipality)))
        self.by_code = {m.code: m for m in municipalities}
        self.by_name = {(m.prefecture, normalize_name(m.name)): m for m in municipalities}
        self.by_plain_name: dict[str, list] = {}
        for (prefecture, name), m in self.by_name.items():
            self.by_plain_name.setdefault(name, []).append(((normalize_name(prefecture), name), m))
        self.former = _former_names()

    def find(self, code: str, prefecture: str, name: str) -> Municipality | None:
        if code:
            return self.by_code.get(code)
        return self.by_name.get((normalize_name(prefecture), normalize_name(name)))

    def named(self, prefecture: str, name: str) -> tuple[Municipality | None, bool]:
        """The municipality a name means, and whether the name was ambiguous: with or without the prefecture in
        front or in its own column (東京 → 東京都), a 郡 before it, or 市・町・村 after it."""
        in_front, name = split_prefecture(name)
        prefecture = read_prefecture(prefecture) or in_front
        name = re.sub(r"^.+?郡(?=.)", "", normalize_name(name))
        spellings = [name] + ([name + suffix for suffix in SUFFIXES] if not name.endswith(SUFFIXES) else [])
        found = {m.id: m for spelling in spellings for (p, _), m in self.by_plain_name.get(spelling, [])
                 if not prefecture or p == normalize_name(prefecture)}
        if len(found) == 1:
            return next(iter(found.values())), False
        return None, len(found) > 1

    def resolve(self, code: str, prefecture: str, name: str) -> Reading:
        """The row's municipality (see the module's note)."""
        written = re.sub(r"\s+", "", typed(code)).lstrip("'’`")
        candidates, problem = code_candidates(code)
        by_code = [self.by_code[c] for c in candidates if c in self.by_code]
        if prefecture and len(by_code) > 1:
            by_code = [m for m in by_code if m.prefecture == read_prefecture(prefecture)] or by_code
        named, ambiguous = self.named(prefecture, name) if name else (None, False)
        if named is not None:
            if named in by_code and written == named.code:
                return Reading(named)
            if named in by_code:
                return Reading(named, f"{written} → {named.code} {named.full_name}")
            if not written:
                return Reading(named)
            what = (f"{by_code[0].full_name}（{by_code[0].code}）のコードです" if len(by_code) == 1 else
                    "該当する市区町村がありません" if not problem else "団体コードとして読めません")
            return Reading(named, f"団体コード「{written}」は{what}が、市町村名「{name}」から {named.code} {named.full_name} と読みました")
        if problem:
            return Reading(None, problem=problem)
        if not candidates:
            if name:
                return Reading(None, problem=(f"「{prefecture}{name}」に当たる市区町村が複数あります。都道府県か団体コードを記入してください。"
                                              if ambiguous else self.why_not_found("", prefecture, name)), column="市町村名")
            return Reading(None, problem="団体コードか市町村名を記入してください。")
        if len(by_code) > 1:
            return Reading(None, problem=(f"団体コード「{written}」は " + "、".join(f"{m.code} {m.full_name}" for m in by_code)
                                          + " のどちらとも読めます。6桁の団体コードか市町村名を記入してください。"))
        if not by_code:
            return Reading(None, problem=self.why_not_found(candidates[0], prefecture, name))
        found = by_code[0]
        if name and (disagreement := self.disagreement(found, prefecture, name)):
            return Reading(None, problem=disagreement, column="市町村名")
        return Reading(found, None if written == found.code else f"{written} → {found.code} {found.full_name}")

    def disagreement(self, found: Municipality, prefecture: str, name: str) -> str | None:
        """A code and a name that name different municipalities: a row error naming both, never a silent choice."""
        if name and normalize_name(name) not in (normalize_name(found.name), normalize_name(found.full_name)):
            other = self.by_name.get((normalize_name(prefecture or found.prefecture), normalize_name(name)))
            named = f"「{other.full_name}」（{other.code}）" if other else f"「{prefecture}{name}」"
            return (f"団体コード {found.code} は{found.full_name}ですが、市町村名は{named}です。"
                    "どちらが正しいか確かめ、団体コードか市町村名を直してください。")
        if prefecture and normalize_name(prefecture) != normalize_name(found.prefecture):
            return f"団体コード {found.code} は{found.full_name}ですが、都道府県は「{prefecture}」です。どちらが正しいか確かめてください。"
        return None

    def why_not_found(self, code: str, prefecture: str, name: str) -> str:
        """Why nothing matched, in words that say what to do: a prefecture's code, a designated city's ward, a name
        that is not in the master."""
        if code:
            if code[2:5] == "000":
                return f"団体コード {code} は都道府県のコードです。市町村の団体コード（6桁）を記入してください。"
            city = self.by_code.get(code[:2] + "100" + str(check_digit(code[:2] + "100")))
            if city is not None and "101" <= code[2:5] <= "199":
                return (f"団体コード {code} は{city.full_name}の区のコードです。政令指定都市は市として回答します。"
                        f"{city.full_name}の団体コード {city.code} を記入してください。")
            return f"団体コード {code} に該当する市区町村がマスタにありません。6桁の団体コードをご確認ください。"
        label = f"{prefecture}{name}"
        merged = self.successor(prefecture, name)
        if merged is not None:
            successor, day = merged
            return (f"「{label}」は{wareki(day)}の合併により、現在は{successor.full_name}（団体コード {successor.code}）です。"
                    f"{successor.full_name}として回答するか、団体コード {successor.code} を記入してください。")
        if name.endswith("区") and any(normalize_name(m.name) and normalize_name(name).startswith(normalize_name(m.name))
                                      for (p, _), m in self.by_name.items() if m.name.endswith("市") and p == normalize_name(prefecture)):
            return f"「{label}」は政令指定都市の区です。市として回答しますので、市の名称か団体コードを記入してください。"
        return f"「{label}」に該当する市区町村がマスタにありません。合併などで名称が変わっていないか、団体コードとあわせてご確認ください。"


    def successor(self, prefecture: str, name: str) -> tuple[Municipality, date] | None:
        """The municipality a merger folded ``name`` into, and the day; with no prefecture, only if the name is unique."""
        matches = [(p, successor_name, day) for (p, former), (successor_name, day) in self.former.items()
                   if former == normalize_name(name) and (not prefecture or p == normalize_name(prefecture))]
        if len(matches) != 1:
            return None
        p, successor_name, day = matches[0]
        successor = self.by_name.get((p, normalize_name(successor_name)))
        return (successor, day) if successor is not None else None


def _former_names() -> dict[tuple[str, str], tuple[str, date]]:
    with open(FORMER_FILE, encoding="utf-8-sig", newline="") as handle:
        return {(row["prefecture"], normalize_name(row["former_name"])): (row["successor_name"], date.fromisoformat(row["merged_on"]))
                for row in csv.DictReader(handle)}
