"""The direction of imports is a contract (setup.cfg, import-linter): nothing below the run
shell imports it or the family table, and commands never call an engine directly."""

import shutil
import subprocess
import sys

from tests.conftest import REPO, timeout

LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports('setup.cfg', no_cache=True))"


def _lint(root) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, capture_output=True, text=True, timeout=timeout(120),
                          env={"PYTHONPATH": str(root), "PATH": ""}, check=False)


def test_import_contracts_hold():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_planted_upward_import_breaks_the_layers(tmp_path):
    """The check can fail: an engine's step module importing the family table is reported."""
    for package in ("jaxgen", "experiments"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "setup.cfg", tmp_path / "setup.cfg")
    target = tmp_path / "jaxgen" / "train" / "steps.py"
    target.write_text("from jaxgen.families import FAMILIES  # planted\n" + target.read_text())
    result = _lint(tmp_path)
    assert result.returncode == 1 and "jaxgen.train.steps -> jaxgen.families" in result.stdout, result.stdout
