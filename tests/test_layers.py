"""Issue 32: the layers and their "never"s are contracts (pyproject.toml, import-linter), checked in make test:
models know nothing above them, policies ask models only, services never reach views, the request seam or the worker;
the solver knows nothing of Banso."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept():
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "Contracts: 4 kept, 0 broken." in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0
