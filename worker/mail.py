"""The worker's mail transports: SMTP when MAIL_SERVER is set, the in-app mailbox otherwise (development). Only
the worker sends; everything else puts a notification in the outbox (banso/services/notifications.py)."""
from __future__ import annotations

import smtplib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app

from banso.extensions import db
from banso.models import MailboxMessage, Notification
from banso.services import files


def build_message(notification: Notification) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = notification.subject
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    if notification.recipient_name:
        user, _, domain = notification.recipient_email.partition("@")
        message["To"] = Address(notification.recipient_name, user, domain)
    else:
        message["To"] = notification.recipient_email
    message["Message-ID"] = notification.message_id
    message["Date"] = formatdate(localtime=False)
    message["X-Banso-Notification"] = str(notification.id)
    if notification.kind.startswith("inquiry_") and config.get("INQUIRY_REPLY_TO"):
        message["Reply-To"] = config["INQUIRY_REPLY_TO"]  # the polled mailbox: the inquirer's answer joins the thread
    # Plain text only: nothing anyone typed can become markup in a mail client.
    message.set_content(notification.body, charset="utf-8")
    for attachment in notification.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(files.read(attachment.sha256), maintype=maintype, subtype=subtype or "octet-stream",
                               filename=attachment.filename)
    return message


class Transport:
    """One SMTP connection for a run of notifications, opened on first use and reopened after a failure."""

    def __init__(self) -> None:
        self.config = current_app.config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.smtp = None

    def send(self, notification: Notification) -> None:
        """Deliver one notification; raises on failure so the caller can retry."""
        config = self.config
        message = build_message(notification)
        if not config.get("MAIL_SERVER"):
            db.session.add(MailboxMessage(notification_id=notification.id, message_id=notification.message_id,
                                          sender=message["From"], recipient=notification.recipient_email,
                                          subject=notification.subject, body=notification.body,
                                          attachments="\n".join(a.filename for a in notification.attachments)))
            return
        try:
            if self.smtp is None:
                self.smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
                if config["MAIL_USE_TLS"]:
                    self.smtp.starttls()
                if config.get("MAIL_USERNAME"):
                    self.smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            self.smtp.send_message(message)
        except Exception:
            self.close()  # the next message starts on a new connection
            raise


def send(notification: Notification) -> None:
    """Deliver one notification on a connection of its own."""
    with Transport() as transport:
        transport.send(notification)
