from sqlalchemy import select

from banso.blueprints.dev import bp
from banso.listing import page_or_fragment, paginate
from banso.models import MailboxMessage
from banso.permissions import SECRETARIAT_ROLES, roles_required


@bp.get("/mailbox")
@roles_required(*SECRETARIAT_ROLES)
def mailbox():
    page = paginate(select(MailboxMessage).order_by(MailboxMessage.id.desc()))
    return page_or_fragment("dev/mailbox.html", "dev/_table.html", page=page)
