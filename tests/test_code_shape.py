"""Issue 32: services a newcomer can open — no module of the services over ~400 lines, no function anywhere in Banso or
its worker over 60 lines (a longer one is split along the steps it already names)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60
MAX_SERVICE_MODULE_LINES = 450  # "about 400": a module past it splits along its seams (tools/layers.py agrees)


def _python(*parts):
    for part in parts:
        yield from sorted((ROOT / part).rglob("*.py"))


def test_no_function_is_longer_than_sixty_lines():
    long = []
    for path in _python("banso", "worker"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def test_no_service_module_is_past_about_four_hundred_lines():
    large = [f"{p.relative_to(ROOT)} ({n} lines)" for p in _python("banso/services")
             if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_SERVICE_MODULE_LINES]
    assert large == []
