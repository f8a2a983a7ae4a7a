from sqlalchemy import select

from banso.blueprints.dev import bp
from banso.listing import page_or_fragment, paginate
from banso.models import MailboxMessage
from banso.permissions import allowed
from banso.policies import admin as admin_policy


@bp.get("/mailbox")
@allowed(admin_policy.may_watch_notifications)
def mailbox():
    page = paginate(select(MailboxMessage).order_by(MailboxMessage.id.desc()))
    return page_or_fragment("dev/mailbox.html", "dev/_table.html", page=page)
