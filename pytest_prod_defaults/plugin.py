"""pytest entry point (``-p no:prod_defaults`` turns it off).

Installed but not asked for, the plugin must cost nothing: this module
imports the standard library and pytest only. Everything else loads inside
the hooks, and only under ``--check-defaults``.
"""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

MODES = ("asgi", "server", "url")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prod-defaults", "production defaults (pytest-prod-defaults)")
    group.addoption(
        "--check-defaults",
        action="store_true",
        default=False,
        help="check the documented production defaults in the manifest against the live app.",
    )
    group.addoption(
        "--defaults-file",
        action="append",
        metavar="PATH",
        dest="defaults_files",
        default=[],
        help="a manifest, or a glob of manifests; repeatable (default: ini 'defaults_file', else defaults.toml "
        "in the rootdir).",
    )
    group.addoption(
        "--defaults-mode",
        choices=MODES,
        default=None,
        help="override [target].mode for this run: asgi (in-process), server (uvicorn on 127.0.0.1), url.",
    )
    group.addoption(
        "--defaults-url",
        metavar="URL",
        default=None,
        help="check a deployed service at URL (implies --defaults-mode=url).",
    )
    group.addoption(
        "--defaults-report",
        action="append",
        metavar="PATH",
        dest="defaults_reports",
        default=[],
        help="with --check-defaults, write a report of the run at the end: PATH ending .md (Markdown, "
        "also appended to $GITHUB_STEP_SUMMARY when set) or .json; repeatable.",
    )
    parser.addini(
        "defaults_file",
        "the defaults manifests: paths or globs relative to the rootdir, separated by spaces",
        type="args",
        default=["defaults.toml"],
    )
    parser.addini(
        "defaults_full_protocol",
        "leave the garbage collector as pytest leaves it: do not freeze the objects alive once the app has "
        "answered (every default takes pytest's full setup/call/teardown protocol either way)",
        type="bool",
        default=False,
    )


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def manifest_paths(config: pytest.Config) -> list[Path]:
    """The manifests to check: ``--defaults-file`` (relative to the
    invocation folder), else the ini ``defaults_file`` (relative to the
    rootdir); globs expanded, in a stable order."""
    given = config.getoption("defaults_files")
    base = Path(config.invocation_params.dir) if given else Path(config.rootpath)
    found: list[Path] = []
    for pattern in given or config.getini("defaults_file"):
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, root_dir=base, recursive=True))
            if not matches:
                raise pytest.UsageError(f"no defaults manifest matches {pattern!r} (in {base})")
            found.extend(base / match for match in matches)
        else:
            found.append(base / pattern)
    return list(dict.fromkeys(found))


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("check_defaults"):
        return
    from .heap import LongLivedHeap
    from .items import SESSION_KEY, DefaultsSession
    from .reporting import DefaultsReporter, report_paths

    # Workers only attach results to their reports: the controller writes.
    controller = not hasattr(config, "workerinput")
    paths = report_paths(config) if controller else []
    session = DefaultsSession.start(config, manifest_paths(config))
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "prod_defaults_session")
    config.pluginmanager.register(LongLivedHeap(config), "prod_defaults_heap")
    if controller:
        config.pluginmanager.register(DefaultsReporter(config, session.runs, paths), "prod_defaults_reporter")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not config.getoption("check_defaults"):
        return
    from .items import SESSION_KEY

    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()
        del config.stash[SESSION_KEY]
