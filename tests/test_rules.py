"""Rule IDs mean rules: a refusal names a MISSION.md rule only when that rule is what refused it. Input that cannot
be used is an InputError, a user the area's policy does not allow a NotPermitted, a record that moved on a
WrongState (banso/services/__init__.py); sign-in's own refusals keep AUTH and AUTH-LOCK."""
import re
from pathlib import Path

import banso

SIGN_IN = {"AUTH", "AUTH-LOCK"}


def _mission_rule_ids() -> set[str]:
    mission = Path(banso.__file__).resolve().parents[2] / "shared" / "MISSION.md"
    return set(re.findall(r"\*\*((?:APP|OFF|TEAM|TRV|PUB|INQ)-\d+)\*\*", mission.read_text(encoding="utf-8")))


def test_every_rule_id_a_service_raises_is_a_rule_of_the_mission():
    rules = _mission_rule_ids()
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
