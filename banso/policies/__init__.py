"""Who may do what, one module per area: plain predicates (``may_*``) and query conditions (``visible_*``)
that views, services and templates all ask. ``hold`` applies PUB-2 to every query of a request by itself."""
from types import SimpleNamespace

from banso.policies import admin, applications, approvals, inquiries, officers, publication, records, teams, travel

# What templates ask (``may.travel.may_review_request(trip, current_user)``): no role names in templates.
MAY = SimpleNamespace(admin=admin, applications=applications, approvals=approvals, inquiries=inquiries, officers=officers,
                      publication=publication, records=records, teams=teams, travel=travel)
