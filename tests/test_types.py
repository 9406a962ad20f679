"""The package and its tests type-check under ``mypy --strict``: the
extension API a third-party kind is written against included (the kinds'
own check is in ``test_custom_kind.py``). Runs where mypy is installed: CI's
``newest`` session installs it (``noxfile.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict_is_clean_over_the_package_and_the_tests(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "pytest_prod_defaults",
            "tests",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
