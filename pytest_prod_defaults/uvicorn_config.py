"""``[target].uvicorn``: keyword arguments for ``uvicorn.Config``, checked
against the installed uvicorn when the manifest loads, in every mode, so a
typo or a value uvicorn cannot use is a usage error naming its key rather
than a server that says nothing when it fails to start.

Nothing here knows pytest; uvicorn is imported only when the table is given.
"""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FORCED_OPTIONS = frozenset({"app", "host", "port", "uds", "fd", "reload", "workers", "log_config"})
"""Chosen by the plugin: it binds 127.0.0.1 on a free port, in this process."""
FILE_OPTIONS = frozenset({"ssl_keyfile", "ssl_certfile", "ssl_ca_certs", "env_file"})
"""Paths: read relative to the manifest's folder, and made absolute."""
NAMED_IMPLEMENTATIONS = {
    "http": ("HTTP_PROTOCOLS",),
    "ws": ("WS_PROTOCOLS",),
    "loop": ("LOOP_SETUPS", "LOOP_FACTORIES"),
}
"""Options naming an implementation uvicorn imports (which may need a package)."""


class UvicornOptionError(ValueError):
    """One option uvicorn cannot use; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def checked_options(
    options: Mapping[str, Any], root: Path, *, needed: bool
) -> tuple[dict[str, Any], list[UvicornOptionError]]:
    """``options`` as uvicorn will take them (paths made absolute, values in
    uvicorn's types), and what is wrong with them. Without uvicorn installed
    nothing can be checked: that is itself a problem only when ``needed``
    (``mode = "server"``)."""
    try:
        import uvicorn
        from uvicorn import config as uvicorn_config
    except ImportError:
        if needed:
            return dict(options), [
                UvicornOptionError("", "mode = 'server' needs uvicorn: pip install 'pytest-prod-defaults[server]'")
            ]
        return dict(options), []
    parameters = set(inspect.signature(uvicorn.Config.__init__).parameters) - {"self"}
    try:
        hints = typing.get_type_hints(uvicorn.Config.__init__)
    except Exception:  # an annotation this Python cannot evaluate: names are still checked
        hints = {}
    checked: dict[str, Any] = {}
    problems: list[UvicornOptionError] = []
    for key, value in options.items():
        try:
            checked[key] = _checked(key, value, parameters, hints, uvicorn_config, root)
        except UvicornOptionError as exc:
            problems.append(exc)
    return checked, problems


def _checked(key: str, value: Any, parameters: set[str], hints: Mapping[str, Any], config: Any, root: Path) -> Any:
    if key in FORCED_OPTIONS:
        raise UvicornOptionError(key, "cannot be set: the plugin binds 127.0.0.1 on a free port and sets up logging")
    if key not in parameters:
        close = difflib.get_close_matches(key, sorted(parameters - FORCED_OPTIONS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UvicornOptionError(key, f"not a uvicorn option{hint}")
    named = key in NAMED_IMPLEMENTATIONS and isinstance(value, str)
    if key in hints and not named:  # a named implementation is judged by importing it, in every uvicorn
        value = _typed(key, value, hints[key])
    if key in FILE_OPTIONS and isinstance(value, str):
        path = (root / value).resolve()
        if not path.is_file():
            raise UvicornOptionError(key, f"no such file: {path}")
        return str(path)
    if key == "log_level" and isinstance(value, str) and value not in config.LOG_LEVELS:
        raise UvicornOptionError(key, f"{value!r} is not a log level; uvicorn knows {', '.join(config.LOG_LEVELS)}")
    if named:
        _importable(key, value, config)
    return value


def _importable(key: str, value: str, config: Any) -> None:
    """``http = "httptools"`` needs httptools installed; a value uvicorn does
    not name is a ``module:attribute`` it imports."""
    from uvicorn.importer import ImportFromStringError, import_from_string

    tables = [getattr(config, name, None) for name in NAMED_IMPLEMENTATIONS[key]]
    table = next((found for found in tables if isinstance(found, Mapping)), {})
    where = table.get(value, value)
    if not isinstance(where, str):
        return  # "none": nothing to import
    try:
        import_from_string(where)
    except (ImportError, ImportFromStringError) as exc:
        known = f"; uvicorn knows {', '.join(table)}" if table else ""
        raise UvicornOptionError(key, f"{value!r} cannot be used: {exc}{known}") from None


def _typed(key: str, value: Any, hint: Any) -> Any:
    """``value`` as the type uvicorn declares for ``key``; a TOML value of
    the wrong type is a problem, not something for uvicorn to trip on."""
    from pydantic import TypeAdapter, ValidationError

    try:
        adapter: TypeAdapter[Any] = TypeAdapter(hint)
    except Exception:  # a type pydantic cannot describe: left to uvicorn
        return value
    try:
        # By type, as the rest of the manifest; lists may become the tuples
        # uvicorn declares (headers = [["server", "shop"]]).
        return adapter.validate_python(value, strict=not isinstance(value, list))
    except ValidationError:
        raise UvicornOptionError(key, f"{value!r} is not what uvicorn takes here ({_shown_type(hint)})") from None


def _shown_type(hint: Any) -> str:
    text = str(hint).replace("typing.", "")
    return text if len(text) <= 80 else text[:77] + "..."
