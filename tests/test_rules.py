"""Rule IDs mean rules: a refusal names a rule of docs/rules.md only when that rule is what refused it. Input that cannot
be used is an InputError, a user the area's policy does not allow a NotPermitted, a record that moved on a
WrongState (banso/services/__init__.py); sign-in's own refusals keep AUTH and AUTH-LOCK."""
import re
from pathlib import Path

import banso

SIGN_IN = {"AUTH", "AUTH-LOCK"}


ROOT = Path(banso.__file__).resolve().parents[1]


def _rule_ids() -> set[str]:
    """The rules as the project states them (docs/rules.md), read from the repository itself."""
    rules = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    return set(re.findall(r"\*\*((?:APP|OFF|TEAM|TRV|PUB|INQ)-\d+)\*\*", rules))


def test_every_rule_of_the_project_has_a_test_that_names_it():
    rules = _rule_ids()
    assert len(rules) == 28
    tests = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "tests").rglob("test_*.py")
                      if path.name != "test_rules.py")
    named = {rule for rule in rules if rule in tests or rule.lower().replace("-", "_") + "_" in tests}
    assert rules - named == set()


def test_every_rule_id_a_service_raises_is_a_rule_of_the_project():
    rules = _rule_ids()
    assert {"PUB-2", "TRV-2", "TEAM-4"} <= rules
    raised = {}
    for path in Path(banso.__file__).parent.rglob("*.py"):
        for rule_id in re.findall(r'RuleViolation\(\s*"([^"]+)"', path.read_text(encoding="utf-8")):
            raised.setdefault(rule_id, set()).add(path.name)
    unknown = {rule_id: files for rule_id, files in raised.items() if rule_id not in rules | SIGN_IN}
    assert unknown == {}


def test_input_errors_carry_no_rule_id(ctx):
    import pytest

    from banso.services import InputError, travel
    from tests.factories import make_team

    with pytest.raises(InputError) as refused:
        travel.check_request(make_team(), {"depart_on": None, "return_on": None})
    assert refused.value.rule_id == "INPUT" and refused.value.field == "depart_on"
