"""The test suite on both ends of the versions pyproject.toml allows.

``nox`` runs both sessions, each in a fresh venv under ``.nox/``;
``nox -s lowest`` or ``nox -s newest`` runs one.
"""

import nox

CONSTRAINTS_LOWEST = ".ci/constraints-lowest.txt"


@nox.session
def lowest(session: nox.Session) -> None:
    """Every dependency and test extra at the lower bound pyproject.toml gives it."""
    session.install("-c", CONSTRAINTS_LOWEST, "-e", ".[test]")
    session.run("pytest")


@nox.session
def newest(session: nox.Session) -> None:
    """The newest release of everything, and mypy: the package and the tests
    type-check (``tests/test_types.py``), on the newest releases only, as
    type stubs change with the versions."""
    session.install("--upgrade", "-e", ".[test]", "mypy", "types-regex", "types-PyYAML")
    session.run("pytest")
