"""Parts of the plain-text letters Banso mails municipalities and officers (LGWAN mail may strip links and markup):
the team's contacts and the secretariat's line. Shared by the advance notice (publication) and a replacement's
notice (teams)."""
from __future__ import annotations

from flask import current_app

from banso.models import Officer


def contact_lines(officers: list[Officer]) -> str:
    """A team's members as a municipality needs them in a plain-text letter (LGWAN mail may strip links): name,
    home ministry, e-mail and phone; the first is the team's contact point."""
    lines = [f"・{o.name}（{o.home_ministry.name}）　メール: {o.email or '—'}　電話: {o.phone or '—'}" for o in officers]
    if lines:
        lines[0] += "　※チームの連絡窓口"
    return "\n".join(lines)


def secretariat_line() -> str:
    contact = current_app.config.get("SECRETARIAT_CONTACT")
    return f"本件についてのお問い合わせ: {contact}\n" if contact else ""
