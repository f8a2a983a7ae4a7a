"""The matching's settings (PUB-1): the named factors and their weights per phase, the options staff set, and the
pinned and forbidden pairs decided beforehand."""
from __future__ import annotations


from sqlalchemy import select
from sqlalchemy.orm import joinedload

from banso.extensions import db
from banso.models import (Application, MatchingConstraint, MatchingSettings, Phase)
from banso.policies import hold


# name → (label, default weight, what it rewards, maximum staff may set)
FACTORS: dict[str, tuple[str, int, str, int]] = {
    "team": ("チームの編成", 100, "市町村にチームを編成できること（1チームごと）。大きいほど、できるだけ多くの市町村に編成します。", 500),
    "first_field": ("第1優先分野", 30, "第1優先の課題分野を専門とする支援官がチームにいること。", 100),
    "other_fields": ("第2・第3優先分野", 12, "第2・第3優先の課題分野を専門とする支援官がチームにいること（分野ごと）。", 100),
    "member_field": ("専門分野の一致", 4, "メンバー一人ひとりの専門分野が優先分野と一致すること（一致する分野ごと）。", 50),
    "compound": ("複合的な課題への対応", 6, "課題が「複合的」な市町村で、複数の優先分野に通じた支援官がいること（該当者ごと）。", 50),
    "ties": ("地域のゆかり", 8, "出身地・ゆかりのある地域が市町村の都道府県であること（該当者ごと）。", 50),
    "preference": ("本人の希望", 6, "本人の希望（地域・分野）が市町村の都道府県・名称・優先分野に合うこと（該当者ごと）。", 50),
    "seniority": ("職階の組合せ", 6, "幹部級（指定職・課長級・室長級）と課長補佐級以下の双方がいること。", 50),
    "continuity": ("前期からの継続", 20, "継続する市町村に、前期のチームの支援官が続けて入ること（該当者ごと）。", 100),
    "member": ("メンバー1人の加点", 2, "メンバー1人ごとの加点です。支援官に余裕がある場合に3人目を加える価値にもなります。", 50),
    "travel": ("想定旅費", 1, "四半期ごとの現地訪問の想定旅費（年額）10万円ごとに差し引く点数。", 20),
}
FACTOR_ORDER = list(FACTORS)


def factor_label(name: str) -> str:
    return FACTORS[name][0]


# --- settings and constraints -------------------------------------------------------------------------------

def settings_for(phase: Phase) -> MatchingSettings:
    """The phase's settings; the defaults (not saved) until staff change them."""
    saved = db.session.scalar(select(MatchingSettings).where(MatchingSettings.phase_id == phase.id))
    return saved or MatchingSettings(phase_id=phase.id, weights={}, exclude_home_municipality=False,
                                     exclude_home_prefecture=False, exclude_secondment=True, within_budget=True, version=0)


def weights_of(settings: MatchingSettings) -> dict[str, int]:
    return {name: int((settings.weights or {}).get(name, default)) for name, (_, default, _, _) in FACTORS.items()}


def options_of(settings: MatchingSettings) -> dict[str, bool]:
    return {k: bool(getattr(settings, k)) for k in ("exclude_home_municipality", "exclude_home_prefecture",
                                                      "exclude_secondment", "within_budget")}


def constraints(phase: Phase) -> list[MatchingConstraint]:
    """Staff's decisions for the phase; they name pairings before release, so the page is audited and marked (PUB-2)."""
    hold.note_shown(phase.id)
    return list(db.session.scalars(
        select(MatchingConstraint).options(joinedload(MatchingConstraint.application).joinedload(Application.municipality),
                                           joinedload(MatchingConstraint.officer))
        .where(MatchingConstraint.phase_id == phase.id).order_by(MatchingConstraint.id)))
