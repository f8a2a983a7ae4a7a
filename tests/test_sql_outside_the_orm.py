"""PUB-2 by construction, the part the session's hook cannot see: statements run on a connection of their own
(``session.connection().execute``, ``engine.connect()``, ``engine.begin()``) pass no session event, so the hold could
not add its criteria nor refuse them (policies/hold.py refuses SQL text and Core on held tables that go through the
session). Request code does not open such connections; the few places that do are named here, each with why."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "banso"
REQUEST_CODE = ("blueprints", "services", "policies", "listing.py", "request_path.py", "__init__.py", "permissions.py")
# file → why it may run SQL past the session's events (nothing of it is served as a held row)
ALLOWED = {
    "services/health.py": "SELECT 1: the health check",
}
BYPASSES = {"connection", "connect", "begin", "raw_connection", "exec_driver_sql"}


def _bypasses(path: Path) -> list[str]:
    label = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in BYPASSES:
            owner = ast.unparse(node.func.value)
            if "engine" in owner or "session" in owner or owner.endswith(("conn", "connection()")):
                found.append(f"{label}:{node.lineno}: {ast.unparse(node.func)}")
    return found


def test_request_code_runs_no_sql_on_a_connection_of_its_own():
    files = [p for part in REQUEST_CODE for p in ((ROOT / part).rglob("*.py") if (ROOT / part).is_dir() else [ROOT / part])]
    assert len(files) > 40
    found = [hit for path in files for hit in _bypasses(path) if str(path.relative_to(ROOT)) not in ALLOWED]
    assert found == [], "SQL run past the hold's session events:\n" + "\n".join(found)


def test_the_scan_finds_a_bypass_when_there_is_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f(db):\n    with db.engine.connect() as conn:\n        conn.exec_driver_sql('SELECT * FROM teams')\n")
    assert len(_bypasses(sample)) == 2
