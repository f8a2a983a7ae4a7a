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


# Menus in the order they are shown. Each area adds its entries here.
NAV: list[NavItem] = [
    NavItem("dashboard.index", "ホーム", ALL_ROLES),
    NavItem("applications.index", "活用希望調査", SECRETARIAT_ROLES),
    NavItem("applications.continuation", "継続意向調査", SECRETARIAT_ROLES),
    NavItem("municipalities.index", "市区町村", SECRETARIAT_ROLES),
    NavItem("matching.index", "マッチング", SECRETARIAT_ROLES),
    NavItem("teams.index", "チーム", ALL_ROLES),
    NavItem("teams.reports", "活動報告", SECRETARIAT_ROLES),
    NavItem("officers.index", "支援官", (Role.ADMIN, Role.SECRETARIAT, Role.FINANCE)),
    NavItem("appointments.index", "併任発令", SECRETARIAT_ROLES),
    NavItem("officers.changes", "変更申請", SECRETARIAT_ROLES),
    NavItem("officers.me", "マイプロフィール", (Role.OFFICER,)),
    NavItem("travel.index", "旅費", ALL_ROLES),
    NavItem("inquiries.index", "問い合わせ", (Role.ADMIN, Role.SECRETARIAT, Role.FINANCE)),
    NavItem("inquiries.mine", "問い合わせ", (Role.OFFICER,)),
    NavItem("travel.budget", "旅費予算", (Role.ADMIN, Role.SECRETARIAT, Role.FINANCE)),
    NavItem("travel.rates", "旅費単価", (Role.FINANCE,)),
    NavItem("publication.index", "公表", SECRETARIAT_ROLES),
    NavItem("stats.index", "実績", SECRETARIAT_ROLES),
    NavItem("admin.notifications", "通知の送信状況", SECRETARIAT_ROLES),
    NavItem("admin.users", "利用者管理", (Role.ADMIN,)),
    NavItem("admin.phases", "期・日程", (Role.ADMIN,)),
    NavItem("admin.audit", "監査ログ", (Role.ADMIN,)),
    NavItem("dev.mailbox", "開発用メールボックス", SECRETARIAT_ROLES, dev_only=True),
]


def nav_for(user) -> list[NavItem]:
    from flask import current_app

    if not getattr(user, "is_authenticated", False):
        return []
    dev = current_app.config["BANSO_ENV"] != "production"
    return [item for item in NAV if user.has_role(*item.roles) and (dev or not item.dev_only)]
