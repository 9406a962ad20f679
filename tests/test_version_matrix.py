"""The version matrix (``noxfile.py``): ``nox -s lowest`` installs what
``.ci/constraints-lowest.txt`` pins, so that file must pin every lower bound
pyproject.toml gives, at exactly that bound, and nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).parent.parent
CONSTRAINTS_LOWEST = ROOT / ".ci" / "constraints-lowest.txt"


def lower_bounds() -> dict[str, Version]:
    """Each package's ``>=`` bound in the dependencies and the extras the
    lowest session installs (``test``, and ``server``, whose uvicorn it shares)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    bounds: dict[str, Version] = {}
    for line in [*project["dependencies"], *extras["test"], *extras["server"]]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        for specifier in requirement.specifier:
            if specifier.operator == ">=":
                bound = Version(specifier.version)
                assert bounds.setdefault(name, bound) == bound, f"{name}: two lower bounds in pyproject.toml"
    return bounds


def pins() -> dict[str, str]:
    """Each package the constraints file names, with its specifier as written."""
    found: dict[str, str] = {}
    for line in CONSTRAINTS_LOWEST.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            found[canonicalize_name(requirement.name)] = str(requirement.specifier)
    return found


def test_every_lower_bound_is_pinned_at_that_bound() -> None:
    bounds = lower_bounds()
    assert {"pytest", "pydantic", "fastapi", "httpx", "uvicorn", "pytest-xdist"} <= set(bounds)
    pinned = pins()
    wrong = {
        name: pinned.get(name, "not pinned")
        for name, bound in bounds.items()
        if not pinned.get(name, "").startswith("==") or Version(pinned[name][2:]) != bound
    }
    assert wrong == {}, f"{CONSTRAINTS_LOWEST.name} must pin each of these at its bound in pyproject.toml"


def test_nothing_is_pinned_that_pyproject_does_not_bound() -> None:
    assert sorted(set(pins()) - set(lower_bounds())) == []
