"""Every test whose outcome depends on timing carries the `timing` marker, so `make test-stress` runs it twenty times
under load: a test that sleeps, kills or starts a process, polls, starts threads or a timer, waits for another
party (``wait_until``), or waits in Chromium on what a page polls for (a progress bar, a colleague's presence, a live
estimate). And the marker is on no other test, so the stress run stays the list of tests that can race."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# Names whose use makes a test's outcome depend on when something else happens.
TIMING_NAMES = {
    "sleep": "sleeps", "kill": "kills a process", "killpg": "kills a process group", "SIGKILL": "kills a process",
    "Popen": "starts a process", "Thread": "starts a thread", "Timer": "starts a timer", "Barrier": "starts a race",
    "race": "starts a race", "racing_barrier": "starts a race", "wait_until": "waits for another party",
    "stop_embedded_redis": "stops a server", "wait_for_function": "waits for the browser",
}
# In Chromium: the test waits on what the page polls for (the worker's progress bar, a colleague's presence).
POLLED = ("progress", "#presence")


def _markers(decorators: list[ast.expr]) -> set[str]:
    """`pytest.mark.NAME` and `pytest.mark.NAME(...)` among decorators or a module's `pytestmark`."""
    names = set()
    for node in decorators:
        node = node.func if isinstance(node, ast.Call) else node
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "mark":
            names.add(node.attr)
    return names


def _module_markers(tree: ast.Module) -> set[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            return _markers(values)
    return set()


def _reasons(function: ast.AST, helpers: dict[str, ast.AST], names: dict[str, str], seen: set[str],
             polled: bool = False) -> set[str]:
    """Why ``function`` depends on timing: the timing names it uses, itself or through the module's own helpers;
    ``polled``: in Chromium, a wait on an element the page polls for."""
    found = set()
    for node in ast.walk(function):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name in names:
            found.add(f"{name}: {names[name]}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "wait_for" \
                and any(k.arg == "timeout" for k in node.keywords):
            found.add("wait_for(timeout=…): waits on a page that polls")
        if polled and isinstance(node, ast.Call):
            for selector in (a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)):
                if any(p in selector for p in POLLED):
                    found.add(f"{selector!r}: waits on what the page polls for")
        if name in helpers and name not in seen:
            seen.add(name)
            found |= _reasons(helpers[name], helpers, names, seen, polled)
    return found


def timing_tests() -> dict[str, tuple[set[str], bool]]:
    """Every test function of the suite: why it depends on timing (empty if it does not), and whether it is marked."""
    found = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_marked = "timing" in _module_markers(tree)
        polled = path.parent.name == "e2e"
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        helpers = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("test_")}
        for function in functions:
            if function.name.startswith("test_"):
                reasons = _reasons(function, helpers, TIMING_NAMES, set(), polled)
                marked = module_marked or "timing" in _markers(function.decorator_list)
                found[f"{path.relative_to(TESTS.parent)}::{function.name}"] = (reasons, marked)
    return found


def test_every_test_that_depends_on_timing_is_marked_and_no_other():
    found = timing_tests()
    unmarked = {name: sorted(reasons) for name, (reasons, marked) in found.items() if reasons and not marked}
    needless = [name for name, (reasons, marked) in found.items() if marked and not reasons]
    assert unmarked == {}, "add @pytest.mark.timing (make test-stress runs these under load)"
    assert needless == [], "marked timing, but nothing in them waits on another party"
    assert sum(1 for reasons, _ in found.values() if reasons) >= 10  # the walk finds the suite's races at all


def test_the_walk_sees_a_sleep_through_a_helper_and_a_marker_on_the_module(tmp_path):
    source = ("import pytest, time\npytestmark = pytest.mark.timing\n"
              "def _pause():\n    time.sleep(1)\n"
              "def test_through_a_helper():\n    _pause()\n"
              "def test_still():\n    assert 1\n")
    tree = ast.parse(source)
    helpers = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("test_")}
    tests = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")}
    assert _reasons(tests["test_through_a_helper"], helpers, TIMING_NAMES, set()) == {"sleep: sleeps"}
    assert _reasons(tests["test_still"], helpers, TIMING_NAMES, set()) == set()
    assert _module_markers(tree) == {"timing"}
    browser = ast.parse("def test_plan(page):\n    page.locator('#plan-status progress').wait_for()\n"
                        "def test_sign_in(page):\n    page.locator('#login').wait_for()\n")
    plan, sign_in = browser.body
    assert _reasons(plan, {}, TIMING_NAMES, set(), polled=True) == {"'#plan-status progress': waits on what the page polls for"}
    assert _reasons(sign_in, {}, TIMING_NAMES, set(), polled=True) == set()
