"""Routes ask the area policies: who may open each page (``allowed``), where a refusal goes, and the menus that follow."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user, login_required

from banso.policies import travel
from banso.policies.roles import signed_in

FORM_PAGE = "form page"  # refused=FORM_PAGE: the view shows its form again, naming it with forms.on_refusal


def allowed(predicate: Callable, *, refused: str | Callable | None = None):
    """A route's contract in one place. ``predicate``: the area policy's answer for the signed-in user (others get
    the 403 page, never data). ``refused``: for a route that changes something, where a refusal (RuleViolation)
    goes — an endpoint, to which the user is sent back with the route's own arguments and the message flashed; a
    callable taking the route's arguments and returning the response; or FORM_PAGE, the view's form shown again
    with the message on its field (the view names the page with forms.on_refusal). banso/request_path.py answers
    the refusal; tests/test_permissions_in_policies.py checks that every POST route declares one."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not predicate(current_user):
                abort(403)
            if refused is not None and refused is not FORM_PAGE:
                g.banso_on_refusal = (lambda: _back(refused, kwargs), None, 422)
            return view(*args, **kwargs)

        wrapped.permission = predicate
        wrapped.refused = refused
        return wrapped

    return decorator


def _back(refused, view_args: dict):
    if callable(refused):
        return refused(**view_args)
    taken = {name for rule in current_app.url_map.iter_rules(refused) for name in rule.arguments}
    back = {name: value for name, value in view_args.items() if name in taken}
    if "phase" in request.args and "phase" not in back:
        back["phase"] = request.args["phase"]  # the phase the page was about
    return redirect(url_for(refused, **back))


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    shown_to: Callable | None = None  # None: whoever the route's policy lets in (``allowed``)
    dev_only: bool = False
    group: str = ""  # the area it is listed under (a menu of its own); "" stands alone

    def is_for(self, user) -> bool:
        predicate = self.shown_to or current_app.view_functions[self.endpoint].permission
        return predicate(user)


# Menus in the order they are shown, grouped by area (the Digital Agency design system's header menu): a group
# with one entry for a role is shown as that entry. Each area adds its entries here; who sees an entry is who may
# open its page.
NAV: list[NavItem] = [
    NavItem("dashboard.index", "ホーム"),
    NavItem("applications.index", "活用希望調査", group="申請・自治体"),
    NavItem("applications.continuation", "継続意向調査", group="申請・自治体"),
    NavItem("municipalities.index", "市区町村", group="申請・自治体"),
    NavItem("officers.index", "支援官", group="支援官・発令"),
    NavItem("appointments.index", "併任発令", group="支援官・発令"),
    NavItem("officers.changes", "変更申請", group="支援官・発令"),
    NavItem("officers.me", "マイプロフィール"),
    NavItem("teams.index", "チーム", group="チーム"),
    NavItem("matching.index", "マッチング", group="チーム"),
    NavItem("teams.reports", "活動報告", group="チーム"),
    NavItem("travel.index", "旅費", group="旅費"),
    NavItem("travel.budget", "旅費予算", group="旅費"),
    NavItem("travel.rates", "旅費単価", travel.may_edit_rates, group="旅費"),  # others reach it from the budget page
    NavItem("approvals.index", "決裁"),
    NavItem("inquiries.index", "問い合わせ"),
    NavItem("inquiries.mine", "問い合わせ"),
    NavItem("publication.index", "公表", group="公表・実績"),
    NavItem("stats.index", "実績", group="公表・実績"),
    NavItem("documents.index", "発出文書", group="公表・実績"),
    NavItem("admin.notifications", "通知の送信状況", group="管理"),
    NavItem("admin.users", "利用者管理", group="管理"),
    NavItem("admin.phases", "期・日程", group="管理"),
    NavItem("admin.audit", "監査ログ", group="管理"),
    NavItem("records.index", "行政文書ファイル", group="管理"),
    NavItem("records.requests", "個人情報の請求", group="管理"),
    NavItem("dev.mailbox", "開発用メールボックス", dev_only=True, group="管理"),
]


@dataclass(frozen=True)
class NavGroup:
    label: str
    items: list[NavItem]

    def holds(self, endpoint: str | None) -> bool:
        return any(item.endpoint == endpoint for item in self.items)


def nav_for(user) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False) or not signed_in(user):
        return []
    dev = current_app.config["BANSO_ENV"] != "production"
    return [item for item in NAV if (dev or not item.dev_only) and item.is_for(user)]


def breadcrumbs_for(user, endpoint: str | None) -> list[tuple[str, str | None]]:
    """Where this page sits (the design system's breadcrumbs): ホーム › the area › its list, each with the endpoint to
    link to (None: a heading only); the page itself follows. Empty on the home page and outside the menu."""
    if endpoint in (None, "dashboard.index"):
        return []
    items = nav_for(user)
    item = next((i for i in items if i.endpoint == endpoint), None)
    if item is None:  # a page inside an area: under the first menu entry of its blueprint
        blueprint = endpoint.split(".")[0]
        item = next((i for i in items if i.endpoint.split(".")[0] == blueprint), None)
        if item is None:
            return []
        trail = [(item.label, item.endpoint)]
    else:
        trail = []
    return [("ホーム", "dashboard.index")] + ([(item.group, None)] if item.group else []) + trail


def nav_groups_for(user) -> list[NavItem | NavGroup]:
    """The menu bar: entries standing alone, and a group per area with two or more entries for this user."""
    shown: list[NavItem | NavGroup] = []
    for item in nav_for(user):
        if not item.group:
            shown.append(item)
            continue
        group = next((g for g in shown if isinstance(g, NavGroup) and g.label == item.group), None)
        if group is None:
            shown.append(NavGroup(item.group, [item]))
        else:
            group.items.append(item)
    return [g.items[0] if isinstance(g, NavGroup) and len(g.items) == 1 else g for g in shown]
