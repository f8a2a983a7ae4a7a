"""The routes of 決裁 as data: a route per kind of matter, each version kept (a case keeps the route it started on),
written by an admin a step a line. The defaults are short, so nothing becomes slower unless an organisation's 決裁規程
says so."""
from __future__ import annotations

import re

from sqlalchemy import select

from banso.extensions import db
from banso.models import ApprovalRoute, Role, User
from banso.policies import approvals as policy
from banso.services import InputError, NotPermitted, audit

KINDS = {
    "travel_order": "旅行命令", "travel_order_change": "旅行命令の変更", "claim": "精算", "matching_confirm": "マッチング確定",
    "early_release": "公表の前倒し", "cap_revision": "予算上限の改定", "late_acceptance": "期限後受付", "extension": "支援延長",
}
STAFF = [{"role": Role.ADMIN.value}, {"role": Role.SECRETARIAT.value}]
DEFAULT_ROUTES = {
    # As today: finance decides a trip (the 旅行命令権者's 代決 is set per organisation). A ministry whose 決裁規程 has
    # the secretariat's 旅行命令権者 first and 会計 in 合議 sets that route on the routes page.
    "travel_order": [{"label": "会計担当（旅行命令権者）", "who": [{"role": Role.FINANCE.value}], "need": "one"}],
    "travel_order_change": [{"label": "会計担当（旅行命令権者）", "who": [{"role": Role.FINANCE.value}], "need": "one"}],
    "claim": [{"label": "会計担当（精算審査）", "who": [{"role": Role.FINANCE.value}], "need": "one"}],
    "matching_confirm": [],
    # PUB-3: the 起案者 asks with a reason, another admin independent of them decides (publication.py checks it at the
    # decision, whatever this route says).
    "early_release": [{"label": "別の事務局管理者（確認）", "who": [{"role": Role.ADMIN.value}], "need": "one", "no_proxy": True}],
    # No step: decided by the 起案者's own authority (専決) when they have it — as these are today.
    "cap_revision": [],
    "late_acceptance": [],
    "extension": [],
}
NEEDS = ("one", "each", "all", "inform")  # one of them; one from each party named (合議); all; 回覧 (no one waits)
NEED_WORDS = {"1人": "one", "one": "one", "各": "each", "each": "each", "全員": "all", "all": "all", "回覧": "inform",
              "inform": "inform"}
DAYS = re.compile(r"^期限\s*(\d{1,2})\s*日$")


def route_for(kind: str) -> ApprovalRoute:
    """The route new cases of ``kind`` start on: its latest version (the default, the first time it is asked for)."""
    if kind not in KINDS:
        raise InputError("決裁の種類が正しくありません。")
    route = db.session.scalar(select(ApprovalRoute).where(ApprovalRoute.kind == kind).order_by(ApprovalRoute.version.desc())
                              .limit(1))
    if route is None:
        route = ApprovalRoute(kind=kind, version=1, steps=DEFAULT_ROUTES[kind])
        db.session.add(route)
        db.session.flush()
    return route


def set_route(kind: str, steps: list[dict], *, actor: User) -> ApprovalRoute:
    """An admin's route for ``kind``, as a new version; cases already on their way keep theirs."""
    if not policy.may_edit_routes(actor):
        raise NotPermitted("決裁ルートを変更できるのは事務局管理者だけです。")
    check_steps(steps)
    current = route_for(kind)
    route = ApprovalRoute(kind=kind, version=current.version + 1, steps=steps, created_by_id=actor.id)
    db.session.add(route)
    audit.record("set_route", None, object_type="ApprovalRoute", actor=actor,
                 summary=f"{KINDS[kind]}の決裁ルートを第{route.version}版に変更（{len(steps)}段階）",
                 before={"steps": current.steps}, after={"steps": steps})
    db.session.flush()
    return route


def parse_route(text: str) -> list[dict]:
    """A route as an admin writes it, a step a line: 「ラベル | role:finance, post:課長, user:メールアドレス | 1人・各・全員・N・回覧 |
    代決不可 | 期限3日」 (the last three optional, the last two in any order)."""
    steps = []
    for number, line in enumerate((l for l in (text or "").splitlines() if l.strip()), start=1):
        parts = [p.strip() for p in line.split("|")]
        who = [_party(item, number) for item in (w.strip() for w in (parts[1] if len(parts) > 1 else "").split(",")) if item]
        word = parts[2] if len(parts) > 2 and parts[2] else "1人"
        need = int(word) if word.isdigit() else NEED_WORDS.get(word)
        if need is None:
            raise InputError(f"{number}行目: 必要な承認「{word}」は 1人・各・全員・数字・回覧 のいずれかです。")
        step = {"label": parts[0] or f"{number}段階目", "who": who, "need": need, "no_proxy": False}
        for extra in (p for p in parts[3:] if p):
            if extra == "代決不可":
                step["no_proxy"] = True
            elif (days := DAYS.match(extra)) and int(days.group(1)) >= 1:
                step["days"] = int(days.group(1))
            else:
                raise InputError(f"{number}行目: 「{extra}」は 代決不可 か 期限N日（営業日）で書いてください。")
        steps.append(step)
    check_steps(steps)
    return steps


def _party(item: str, number: int) -> dict:
    kind, _, value = item.partition(":")
    if kind == "role" and value in {r.value for r in Role}:
        return {"role": value}
    if kind == "user" and (found := db.session.scalar(select(User.id).where(User.email == value.lower()))):
        return {"user": found}
    if kind == "post" and value.strip():
        return {"post": value.strip()[:50]}  # 役職: whoever holds it when the case reaches the step
    raise InputError(f"{number}行目: 「{item}」は role:admin・secretariat・finance・officer、post:役職 か user:メールアドレス で書いてください。")


def route_text(steps: list[dict]) -> str:
    """A route as the form shows it (parse_route reads it back)."""
    users = {u.id: u.email for u in db.session.scalars(select(User).where(User.id.in_(
        [w["user"] for s in steps for w in s["who"] if "user" in w])))}
    words = {v: k for k, v in NEED_WORDS.items() if not k.isascii()}
    lines = []
    for step in steps:
        who = ", ".join(f"role:{w['role']}" if "role" in w else f"post:{w['post']}" if "post" in w
                        else f"user:{users.get(w['user'], w['user'])}" for w in step["who"])
        need = step.get("need", "one")
        lines.append(" | ".join([step.get("label", ""), who, str(need) if isinstance(need, int) else words[need]]
                                + (["代決不可"] if step.get("no_proxy") else []) + ([f"期限{step['days']}日"] if step.get("days") else [])))
    return "\n".join(lines)


def check_steps(steps: list[dict]) -> None:
    """No step at all is a route too: the 起案者 decides on their own authority (専決)."""
    for number, step in enumerate(steps, start=1):
        need = step.get("need", "one")
        if not step.get("who") or not (need in NEEDS or (isinstance(need, int) and need >= 1)):
            raise InputError(f"{number}段階目: 決裁する人（役割）と、必要な承認（1人・全員・N人・回覧）を指定してください。")
