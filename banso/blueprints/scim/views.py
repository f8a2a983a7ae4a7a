"""SCIM 2.0 (RFC 7643/7644) for the ministries' directories: Users kept by services/directory.py, Banso's roles shown
as read-only Groups. scim2-models reads and writes the resources (PATCH as Entra ID and others send it included); a
directory proves itself by its own bearer token. No session, no CSRF: a token is not a cookie."""
from __future__ import annotations

import re

from flask import Response, current_app, g, json, request, url_for
from pydantic import ValidationError
from scim2_models import Context, Email, Error, Group, GroupMember, Meta, Name, PatchOp
from scim2_models import User as ScimUser
from sqlalchemy import func, select

from banso.blueprints.scim import bp
from banso.extensions import csrf, db
from banso.formatting import parse_id
from banso.models import Role, User
from banso.models.user import ROLE_LABELS
from banso.services import RuleViolation, directory

csrf.exempt(bp)
FILTER = re.compile(r'^\s*(userName|externalId)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)
MAX_COUNT = 200


def _scim(data: dict, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/scim+json")


def _error(status: int, detail: str, scim_type: str | None = None) -> Response:
    return _scim(Error(status=status, detail=detail, scim_type=scim_type).model_dump(), status)


@bp.before_request
def _directory_only():
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    g.scim_provider = directory.provider_for_token(token)
    if g.scim_provider is None:
        return _error(401, "A directory's bearer token is required.")


@bp.errorhandler(RuleViolation)
def _refused(violation: RuleViolation):
    db.session.rollback()
    status, kind = (409, "uniqueness") if violation.field == "userName" and "既に" in violation.message else (
        (403, None) if violation.rule_id == "POLICY" else (400, "invalidValue"))
    return _error(status, violation.message, kind)


def _resource(user: User) -> dict:
    location = current_app.config["BASE_URL"] + url_for("scim.user", user_id=user.id)
    return ScimUser(id=str(user.id), user_name=user.email, external_id=user.external_id, display_name=user.name,
                    name=Name(formatted=user.name), emails=[Email(value=user.email, primary=True)], active=user.active,
                    meta=Meta(resource_type="User", location=location, created=user.created_at)
                    ).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _read(context) -> ScimUser | Response:
    try:
        return ScimUser.model_validate(request.get_json(force=True, silent=False), scim_ctx=context)
    except (ValidationError, ValueError, TypeError) as error:
        return _error(400, f"The resource could not be read: {str(error)[:300]}", "invalidValue")


def _kept(user_id: int) -> User | Response:
    user = db.session.get(User, parse_id(str(user_id)) or 0)
    if user is None or not directory.keeps(g.scim_provider, user):
        return _error(404, "No such user for this directory.")
    return user


def _name_of(resource: ScimUser) -> str:
    return (resource.display_name or (resource.name.formatted if resource.name else None) or "").strip()


@bp.get("/Users")
def users():
    user_name = external_id = None
    if (text := request.args.get("filter")) is not None:
        match = FILTER.match(text)
        if match is None:
            return _error(400, 'Only `userName eq "…"` and `externalId eq "…"` filters are supported.', "invalidFilter")
        value = match.group(2).replace('\\"', '"')
        user_name, external_id = (value, None) if match.group(1).lower() == "username" else (None, value)
    stmt = directory.accounts(g.scim_provider, user_name=user_name, external_id=external_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    start = max(parse_id(request.args.get("startIndex", "1")) or 1, 1)
    count = min(max(int(request.args.get("count", MAX_COUNT)) if request.args.get("count", "").isdigit() else MAX_COUNT, 0), MAX_COUNT)
    found = list(db.session.scalars(stmt.offset(start - 1).limit(count)))
    return _scim({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": total,
                  "startIndex": start, "itemsPerPage": len(found), "Resources": [_resource(u) for u in found]})


@bp.post("/Users")
def create_user():
    resource = _read(Context.RESOURCE_CREATION_REQUEST)
    if isinstance(resource, Response):
        return resource
    email = resource.user_name or next((e.value for e in resource.emails or [] if e.value), "")
    user = directory.create(g.scim_provider, email=email, name=_name_of(resource), external_id=resource.external_id,
                            active=resource.active is not False)
    db.session.flush()
    return _scim(_resource(user), 201)


@bp.get("/Users/<user_id>", endpoint="user")
def get_user(user_id: str):
    user = _kept(user_id)
    return user if isinstance(user, Response) else _scim(_resource(user))


@bp.put("/Users/<user_id>")
def replace_user(user_id: str):
    user = _kept(user_id)
    if isinstance(user, Response):
        return user
    resource = _read(Context.RESOURCE_REPLACEMENT_REQUEST)
    if isinstance(resource, Response):
        return resource
    directory.update(g.scim_provider, user, email=resource.user_name, name=_name_of(resource),
                     external_id=resource.external_id, active=resource.active)
    return _scim(_resource(user))


@bp.patch("/Users/<user_id>")
def patch_user(user_id: str):
    user = _kept(user_id)
    if isinstance(user, Response):
        return user
    try:
        patch = PatchOp[ScimUser].model_validate(request.get_json(force=True), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        current = ScimUser.model_validate(_resource(user), scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        patch.patch(current)
    except (ValidationError, ValueError, TypeError) as error:
        return _error(400, f"The patch could not be applied: {str(error)[:300]}", "invalidValue")
    directory.update(g.scim_provider, user, email=current.user_name, name=_name_of(current),
                     external_id=current.external_id, active=current.active)
    return _scim(_resource(user))


@bp.delete("/Users/<user_id>")
def delete_user(user_id: str):
    """A directory's DELETE ends the account; its history is kept (records outlive the person's access)."""
    user = _kept(user_id)
    if isinstance(user, Response):
        return user
    directory.update(g.scim_provider, user, email=None, name=None, external_id=None, active=False)
    return Response(status=204)


def _group(role: Role) -> dict:
    members = db.session.scalars(directory.accounts(g.scim_provider).where(User.role == role, User.active.is_(True)))
    return Group(id=str(role), display_name=ROLE_LABELS[role], members=[GroupMember(value=str(u.id), display=u.name) for u in members],
                 meta=Meta(resource_type="Group", location=current_app.config["BASE_URL"] + url_for("scim.group", role=str(role)))
                 ).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


@bp.get("/Groups")
def groups():
    found = [_group(role) for role in Role]
    return _scim({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(found),
                  "startIndex": 1, "itemsPerPage": len(found), "Resources": found})


@bp.get("/Groups/<role>", endpoint="group")
def group(role: str):
    if role not in set(Role):
        return _error(404, "No such group.")
    return _scim(_group(Role(role)))


@bp.route("/Groups", methods=["POST"])
@bp.route("/Groups/<role>", methods=["PUT", "PATCH", "DELETE"])
def groups_read_only(role: str | None = None):
    return _error(403, "Banso's roles are decided in Banso: an admin gives them (a provider's app-roles claim may "
                       "propose one at sign-in).", "mutability")
