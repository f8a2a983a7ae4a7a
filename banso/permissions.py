"""The one permission layer: which role may use which page, and the menus that follow."""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from banso.models import Role

SECRETARIAT_ROLES = (Role.ADMIN, Role.SECRETARIAT)
ALL_ROLES = tuple(Role)


def roles_required(*roles: Role):
    """Signed-in users of the given roles only; others get the 403 page, never data."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)
        return wrapped

    return decorator


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: tuple[Role, ...]
    dev_only: bool = False
    group: str = ""  # the area it is listed under (a menu of its own); "" stands alone


# Menus in the order they are shown, grouped by area (the Digital Agency design system's header menu): a group
# with one entry for a role is shown as that entry. Each area adds its entries here.
NAV: list[NavItem] = [
    NavItem("dashboard.index", "ホーム", ALL_ROLES),
    NavItem("applications.index", "活用希望調査", SECRETARIAT_ROLES, group="申請・自治体"),
    NavItem("applications.continuation", "継続意向調査", SECRETARIAT_ROLES, group="申請・自治体"),
    NavItem("municipalities.index", "市区町村", SECRETARIAT_ROLES, group="申請・自治体"),
    NavItem("officers.index", "支援官", (Role.ADMIN, Role.SECRETARIAT, Role.FINANCE), group="支援官・発令"),
    NavItem("appointments.index", "併任発令", SECRETARIAT_ROLES, group="支援官・発令"),
    NavItem("officers.changes", "変更申請", SECRETARIAT_ROLES, group="支援官・発令"),
    NavItem("officers.me", "マイプロフィール", (Role.OFFICER,)),
    NavItem("teams.index", "チーム", ALL_ROLES, group="チーム"),
    NavItem("matching.index", "マッチング", SECRETARIAT_ROLES, group="チーム"),
    NavItem("teams.reports", "活動報告", SECRETARIAT_ROLES, group="チーム"),
    NavItem("travel.index", "旅費", ALL_ROLES, group="旅費"),
    NavItem("travel.budget", "旅費予算", (Role.ADMIN, Role.SECRETARIAT, Role.FINANCE), group="旅費"),
    NavItem("travel.rates", "旅費単価", (Role.FINANCE,), group="旅費"),
    NavItem("inquiries.index", "問い合わせ", (Role.ADMIN, Role.SECRETARIAT, Role.FINANCE)),
    NavItem("inquiries.mine", "問い合わせ", (Role.OFFICER,)),
    NavItem("publication.index", "公表", SECRETARIAT_ROLES, group="公表・実績"),
    NavItem("stats.index", "実績", SECRETARIAT_ROLES, group="公表・実績"),
    NavItem("admin.notifications", "通知の送信状況", SECRETARIAT_ROLES, group="管理"),
    NavItem("admin.users", "利用者管理", (Role.ADMIN,), group="管理"),
    NavItem("admin.phases", "期・日程", (Role.ADMIN,), group="管理"),
    NavItem("admin.audit", "監査ログ", (Role.ADMIN,), group="管理"),
    NavItem("dev.mailbox", "開発用メールボックス", SECRETARIAT_ROLES, dev_only=True, group="管理"),
]


@dataclass(frozen=True)
class NavGroup:
    label: str
    items: list[NavItem]

    def holds(self, endpoint: str | None) -> bool:
        return any(item.endpoint == endpoint for item in self.items)


def nav_for(user) -> list[NavItem]:
    from flask import current_app

    if not getattr(user, "is_authenticated", False):
        return []
    dev = current_app.config["BANSO_ENV"] != "production"
    return [item for item in NAV if user.has_role(*item.roles) and (dev or not item.dev_only)]


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
