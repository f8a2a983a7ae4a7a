"""One permission per action: routes, services and templates ask the area policies (banso/policies/), never a role or
a record's state. A role tuple in a route, a role compared outside the policies, a POST route without a declared
refusal, or a template showing an action because of a state literal fails here."""
from __future__ import annotations

import ast
from pathlib import Path

from jinja2 import Environment, nodes

ROOT = Path(__file__).resolve().parent.parent / "banso"
ACTION_CALLS = {"post_button"}
ACTION_MARKS = ("<form", 'class="button', "class='button")


def _python_files(*parts: str):
    for part in parts:
        yield from sorted((ROOT / part).rglob("*.py"))


def test_no_role_is_named_outside_the_policies_in_routes_and_templates():
    named = [f"{p.relative_to(ROOT)}:{n}" for p in _python_files("blueprints") for n, line in
             enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if "Role." in line or "has_role(" in line]
    named += [str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*.html")
              if "has_role(" in p.read_text(encoding="utf-8") or ".role ==" in p.read_text(encoding="utf-8")]
    assert named == [], f"routes and templates ask the area's policy (policies/*.py), not a role: {named}"


def _routes():
    for path in _python_files("blueprints"):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, ast.FunctionDef):
                continue
            methods, routed, allowed = set(), False, None
            for deco in fn.decorator_list:
                if not isinstance(deco, ast.Call):
                    continue
                name = getattr(deco.func, "attr", getattr(deco.func, "id", ""))
                if name in ("route", "get", "post"):
                    routed = True
                    methods |= {"POST"} if name == "post" else set()
                    methods |= {e.value for k in deco.keywords if k.arg == "methods" for e in k.value.elts}
                elif name == "allowed":
                    allowed = deco
            if routed:
                yield path, fn, methods, allowed


def test_every_post_route_declares_where_a_refusal_goes():
    missing, unnamed = [], []
    for path, fn, methods, allowed in _routes():
        if "POST" not in methods or allowed is None:
            continue  # the sign-in pages and the public form have no policy to ask; they name their page themselves
        refused = next((k.value for k in allowed.keywords if k.arg == "refused"), None)
        where = f"{path.relative_to(ROOT)}:{fn.name}"
        if refused is None:
            missing.append(where)
        elif isinstance(refused, ast.Name) and refused.id == "FORM_PAGE":
            calls = {getattr(c.func, "id", "") for c in ast.walk(fn) if isinstance(c, ast.Call)}
            if not calls & {"on_refusal", "start_upload"}:  # an upload page names its form through start_upload
                unnamed.append(where)
    assert missing == [], f"POST routes without allowed(..., refused=...): {missing}"
    assert unnamed == [], f"refused=FORM_PAGE but the view never names its form page (forms.on_refusal): {unnamed}"


def test_every_route_behind_sign_in_asks_a_policy():
    bare = [f"{p.relative_to(ROOT)}:{fn.name}" for p, fn, _m, allowed in _routes()
            if allowed is None and any(getattr(d, "id", "") == "login_required" for d in fn.decorator_list)
            and "auth" not in p.parts]
    assert bare == [], f"signed-in routes outside the sign-in pages ask a policy with allowed(...): {bare}"


def _state_literal(test: nodes.Node) -> bool:
    """A comparison of a record's status/state with a string literal (or a tuple of them)."""
    for compare in [test, *test.find_all(nodes.Compare)]:
        if not isinstance(compare, nodes.Compare):
            continue
        sides = [compare.expr] + [op.expr for op in compare.ops]
        names = [s for s in sides if isinstance(s, nodes.Getattr) and s.attr in ("status", "state")]
        literals = [s for s in sides if isinstance(s, nodes.Const) and isinstance(s.value, str)
                    or isinstance(s, (nodes.Tuple, nodes.List)) and all(isinstance(i, nodes.Const) for i in s.items)]
        if names and literals:
            return True
    return False


def _offers_an_action(body: list[nodes.Node]) -> bool:
    for node in body:
        for call in node.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name in ACTION_CALLS:
                return True
        for data in node.find_all(nodes.TemplateData):
            if any(mark in data.data for mark in ACTION_MARKS):
                return True
        if isinstance(node, nodes.TemplateData) and any(mark in node.data for mark in ACTION_MARKS):
            return True
    return False


def _state_guarded_actions(source: str) -> list[int]:
    found = []
    for branch in Environment(extensions=["jinja2.ext.do"]).parse(source).find_all(nodes.If):
        for test, body in [(branch.test, branch.body)] + [(e.test, e.body) for e in branch.elif_]:
            if _state_literal(test) and _offers_an_action(body):
                found.append(branch.lineno)
    return found


def test_templates_offer_actions_by_asking_the_policy_not_by_comparing_states():
    guarded = {str(p.relative_to(ROOT)): lines for p in sorted((ROOT / "templates").rglob("*.html"))
               if (lines := _state_guarded_actions(p.read_text(encoding="utf-8")))}
    assert guarded == {}, f"an action offered because of a state literal; ask may.<area>.may_*(record, user): {guarded}"


def test_the_template_check_finds_a_state_literal_guarding_a_button():
    assert _state_guarded_actions("{% if trip.status in ('submitted', 'returned') %}<a class=\"button\" href=\"#\">修正</a>{% endif %}")
    assert _state_guarded_actions("{% if n.status == 'failed' %}{{ post_button('/x', '再送') }}{% endif %}")
    assert not _state_guarded_actions("{% if trip.status == 'settled' %}<strong>{{ amount }}</strong>{% endif %}")
    assert not _state_guarded_actions("{% if may.travel.may_cancel(trip, current_user) %}{{ post_button('/x', '取消') }}{% endif %}")
