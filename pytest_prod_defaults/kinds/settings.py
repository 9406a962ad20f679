"""``[settings]``: attributes of the FastAPI (or Starlette) application object.

Every key of the table other than the people fields (``why``, ``owner``,
``rollback``, ``docs``, ``skip``, ``until``, ``name``) documents one attribute::

    [settings]
    debug = false
    docs_url = false          # false: disabled (None on the app)
    title = "Shop"

Extension: a setting may be an inline table with ``value`` and its own people
fields, which override the table's for that one setting::

    debug = { value = false, why = "tracebacks leak internals", owner = "security" }
"""

# No `from __future__ import annotations`: pydantic < 2.7 reads the annotation of
# `__pydantic_extra__` below as a type and rejects it as a string.
import difflib
import enum
from collections.abc import Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field
from pydantic.json_schema import WithJsonSchema

from ..checks import BaseKind, Check, Reads
from ..hookspecs import hookimpl
from ..manifest import Manifest
from ..model import DOCUMENTATION_FIELDS, Documentation, Entry
from ..outcomes import Drift, NotApplicable
from ..target import Target

if TYPE_CHECKING:
    from ..captured import CaptureContext, Captured, LeftOut, SummaryNote
    from ..checks import ComparisonWithBases
    from ..manifest_text import ManifestWriter

SHOWN_VALUE_CHARS = 80
APPLICATION_SETTINGS = (
    "debug",
    "docs_url",
    "redoc_url",
    "openapi_url",
    "swagger_ui_oauth2_redirect_url",
    "root_path",
    "max_body_size",
    "form_limits",
)
"""Attributes ``[settings]`` should speak about (the undocumented check asks
for them); the last two only where the installed FastAPI has them."""
CAPTURED_ATTRIBUTES = (*APPLICATION_SETTINGS, "title")
"""Application attributes ``init`` documents: those, and the title."""
MASK = "**********"


class DocumentedSetting(Documentation):
    """One documented attribute: its value and, in the table form, people
    fields of its own."""

    value: Any = Field(description="the attribute's value (`false`: None on the app)")


def _documented_setting(data: object) -> object:
    """A plain value becomes ``{"value": ...}``; an inline table with a
    ``value`` key is the table form, with people fields only."""
    if isinstance(data, dict) and "value" in data:
        unknown = [key for key in data if key != "value" and key not in DOCUMENTATION_FIELDS]
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), ["value", *DOCUMENTATION_FIELDS], n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: value, {', '.join(DOCUMENTATION_FIELDS)}"
            raise ValueError(
                f"unknown key {unknown[0]!r} in a setting's table form; {hint} "
                "(to document a table value that has a 'value' key, write value = { value = ... })"
            )
        return data
    return {"value": data}


class SettingsTable(Entry):
    """Attributes of the FastAPI (or Starlette) application object, one item
    each; the people fields apply to every setting in the table."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[
        str,
        Annotated[
            DocumentedSetting,
            BeforeValidator(_documented_setting),
            # For editors: a plain value, or the table form; not only the table form the model holds.
            WithJsonSchema(
                {"description": "the attribute's value (false: None on the app), or { value = ..., why = ... }"}
            ),
        ],
    ]

    def settings(self) -> dict[str, DocumentedSetting]:
        return dict(self.__pydantic_extra__ or {})

    def default_name(self) -> str:
        return "settings"


def setting_entry(table: SettingsTable, key: str, setting: DocumentedSetting, manifest: Manifest) -> Entry:
    """The entry of one ``settings:<attribute>`` item: the table's people
    fields, overridden by the setting's own."""
    waiver = setting if setting.skip is not None else table
    entry = Entry(
        name=key,
        why=setting.why or table.why,
        owner=setting.owner or table.owner,
        rollback=setting.rollback or table.rollback,
        docs=setting.docs or table.docs,
        skip=waiver.skip,
        until=waiver.until,
    )
    entry._source = table.source
    entry.written_at(manifest.locator, ("settings", key))
    return entry


def qualified_name(obj: Any) -> str:
    return f"{getattr(obj, '__module__', None) or '?'}.{getattr(obj, '__qualname__', None) or type(obj).__qualname__}"


def describe_app(app: Any) -> str:
    if isinstance(app, type) or (callable(app) and hasattr(app, "__qualname__")):
        return f"{type(app).__name__} {qualified_name(app)}"
    return qualified_name(type(app))


def is_secret(value: Any) -> bool:
    return any(cls.__name__ in ("SecretStr", "SecretBytes", "Secret") for cls in type(value).__mro__)


def comparable(value: Any) -> Any:
    """A live value as a TOML value would read: tuples as lists, enums by
    value, classes and functions by dotted path, FastAPI's ``Default(...)``
    placeholders unwrapped."""
    if type(value).__name__ == "DefaultPlaceholder" and hasattr(value, "value"):
        value = value.value
    if isinstance(value, enum.Enum):
        return comparable(value.value)
    if isinstance(value, (list, tuple)):
        return [comparable(item) for item in value]
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return qualified_name(value)
    return value


def equal(documented: Any, live: Any) -> bool:
    """``true`` never equals ``1``; lists compare element by element."""
    if isinstance(documented, list) and isinstance(live, list):
        return len(documented) == len(live) and all(map(equal, documented, live))
    if isinstance(documented, dict) and isinstance(live, dict):
        return documented.keys() == live.keys() and all(equal(documented[key], live[key]) for key in documented)
    if isinstance(documented, bool) or isinstance(live, bool):
        return type(documented) is type(live) and documented == live
    return bool(documented == live)


def none_set(value: Any) -> bool:
    """What a documented ``false`` means: nothing set (``docs_url = None``,
    ``form_limits = {}``)."""
    return value is None or (isinstance(value, Mapping) and not value)


def setting_holds(documented: Any, live: Any) -> bool:
    if documented is False and none_set(live):
        return True  # false documents "disabled": docs_url = None on the app
    if is_secret(live):
        secret = live.get_secret_value()
        return isinstance(documented, type(secret)) and bool(documented == secret)
    return equal(documented, comparable(live))


def show(value: Any) -> str:
    if is_secret(value):
        return MASK
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(comparable(value))
    return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 3] + "..."


NO_SETTING = object()

KEPT_ON_ROUTER = ("form_limits",)
"""Settings a FastAPI version may keep on ``app.router`` rather than on the
application (``FastAPI(form_limits=...)`` is stored on the router)."""
SINCE_SOME_VERSION = ("max_body_size", "form_limits")
"""Settings only newer FastAPI versions have: where the installed one has no
such feature, nothing is set, and ``false`` documents exactly that."""


def read_setting(app: Any, key: str) -> Any:
    """The live value of setting ``key``, read where the installed FastAPI
    keeps it; :data:`NO_SETTING` when it has no such setting. Raises what
    reading the attribute raises."""
    for holder in (app, getattr(app, "router", None)) if key in KEPT_ON_ROUTER else (app,):
        try:
            return getattr(holder, key)
        except AttributeError:
            continue
    return NO_SETTING


def installed_fastapi() -> str:
    try:
        from importlib.metadata import version

        return f"FastAPI {version('fastapi')}"
    except Exception:
        return "the installed FastAPI"


def check_setting(key: str, documented: Any, target: Target) -> None:
    from starlette.applications import Starlette

    app = target.app()
    if not isinstance(app, Starlette):
        raise NotApplicable(f"settings need a FastAPI or Starlette application; {describe_app(app)} is neither")
    what = f"setting {key}"
    try:
        live = read_setting(app, key)
    except Exception as exc:
        raise Drift(what, show(documented), f"unreadable ({type(exc).__name__})") from None
    if live is NO_SETTING and key in SINCE_SOME_VERSION:
        if documented is False:
            return  # no such feature: nothing is set, as documented
        detail = f"{installed_fastapi()} has no {key} setting: the limit is not applied"
        raise Drift(what, show(documented), "not supported", detail)
    if live is NO_SETTING:
        public = [name for name in dir(app) if not name.startswith("_")]
        close = difflib.get_close_matches(key, public, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise Drift(what, show(documented), "no such attribute", f"{type(app).__name__} has no attribute {key!r}{hint}")
    if not setting_holds(documented, live):
        shown_documented = MASK if is_secret(live) else show(documented)
        raise Drift(what, shown_documented, show(live))


class CapturedSettings:
    """``[settings]`` as captured, then as ``--extends`` leaves it.

    ``values`` is ``None`` when the app is no application object with
    settings, and ``not_an_application`` says why (a plain ASGI app: no
    middleware either); ``notes`` says why a setting is written over an
    inherited one, or inherited and waived; ``inherited_people`` are the
    people fields the bases give the table, which no TODO is written over.
    """

    # Not a dataclass: this module is imported on every checking run, and a
    # dataclass is built (its __init__ compiled) at import; init alone uses it.

    def __init__(
        self,
        values: dict[str, Any] | None,
        left_out: "list[LeftOut] | None" = None,
        not_an_application: str | None = None,
    ) -> None:
        self.values = values
        self.left_out = left_out or []
        self.not_an_application = not_an_application
        self.notes: dict[str, str] = {}
        self.inherited_people: set[str] = set()


def capture_settings(context: "CaptureContext") -> CapturedSettings:
    """Each attribute the installed framework has, written as the check
    compares it (``false``: none set), or left out saying why."""
    from starlette.applications import Starlette

    from ..captured import LeftOut
    from ..inference import Unwritable, written

    app = context.app
    if not isinstance(app, Starlette):
        why = f"{context.request.app} is a {type(app).__name__}, not FastAPI or Starlette"
        return CapturedSettings(None, not_an_application=why)
    values: dict[str, Any] = {}
    left_out: list[LeftOut] = []
    for name in CAPTURED_ATTRIBUTES:
        try:
            live = read_setting(app, name)
        except Exception:
            continue  # a property that raises: nothing to write
        if live is NO_SETTING:
            continue
        if none_set(live):
            values[name] = False  # false documents "none set": None on the app, or an empty table
            continue
        try:
            values[name] = written(comparable(live), live, setting_holds)
        except Unwritable as exc:
            left_out.append(LeftOut(name, str(exc)))
    return CapturedSettings(values, left_out)


def compare_settings(table: SettingsTable, settings: CapturedSettings, comparison: "ComparisonWithBases") -> None:
    """Each inherited setting against the live app: one that holds and was
    captured is not written again; a captured one is written over one that
    does not hold; one that does not hold and was not captured is written
    waived with a TODO."""
    from ..captured import todo_waiver

    settings.inherited_people = {name for name in ("why", "owner", "rollback") if getattr(table, name)}
    documented = table.settings()
    bases = comparison.bases
    for check in bases.kinds[SettingsKind.key].checks(table, bases):
        name = check.name
        problem = comparison.problem([check])
        where = f"{check.entry.source}:{line}" if (line := check.own_line()) else str(check.entry.source)
        live = settings.values
        if live is not None and name in live:
            if problem is None:
                del live[name]
                comparison.inheritance.kept.append(f"[settings] {name}")
            else:
                settings.notes[name] = f"replaces {where}, which does not hold: {problem}"
        elif problem is not None and not comparison.waived([check]):
            setting = documented[name]
            people = {
                field_name: getattr(setting, field_name)
                for field_name in ("why", "owner", "rollback", "docs")
                if getattr(setting, field_name)
            }
            if settings.values is None:
                settings.values = {}
            settings.values[name] = {"value": setting.value, **people, "skip": todo_waiver(problem)}
            settings.notes[name] = f"inherited from {where}, waived: it does not hold"


class SettingsKind(BaseKind):
    key = "settings"
    many = False
    model = SettingsTable
    title = "Application settings"
    one_default_per_key = True
    section_title = "the application object"

    def checks(self, entry: SettingsTable, manifest: Manifest) -> Iterable[Check]:
        for key, setting in entry.settings().items():
            yield Check(
                "settings",
                key,
                None,
                setting_entry(entry, key, setting, manifest),
                partial(check_setting, key, setting.value),
                at=("settings", key),
                reads=Reads(app=True),
            )

    def capture(self, context: "CaptureContext") -> CapturedSettings:
        return capture_settings(context)

    def compare_table(
        self, entry: SettingsTable, items: CapturedSettings | None, comparison: "ComparisonWithBases"
    ) -> CapturedSettings:
        settings = items if items is not None else CapturedSettings(None)
        compare_settings(entry, settings, comparison)
        return settings

    def write(self, out: "ManifestWriter", items: CapturedSettings | None, captured: "Captured[Any]") -> None:
        if items is None or not (items.values or items.not_an_application):
            return
        out.section(self.section_title)
        if items.not_an_application:
            out.comment(f"{items.not_an_application}: no [settings] or [[middleware]] to read.")
        if not items.values:
            return
        out.table("settings")
        out.comment("false means disabled (None on the app)")
        if items.inherited_people:
            out.comment(
                f"{', '.join(sorted(items.inherited_people))}: the bases' apply to every setting;"
                ' give one its own with name = { value = ..., why = "..." }'
            )
        for name, value in items.values.items():
            out.key(name, value, items.notes.get(name))
        out.left_out(items.left_out, "[settings]")
        out.people(inherited=items.inherited_people)

    def summary(self, items: CapturedSettings | None) -> str | None:
        from ..captured import counted

        return counted(len(items.values or {}) if items else 0, "setting")

    def summary_notes(self, items: CapturedSettings | None) -> "list[SummaryNote]":
        from ..captured import SummaryNote

        if items is None:
            return []
        return [
            *(SummaryNote(f"[settings] {name}: {why}", "inherited") for name, why in items.notes.items()),
            *(SummaryNote(f"[settings]: {item.name} not written: {item.reason}") for item in items.left_out),
        ]


@hookimpl
def pytest_prod_defaults_kinds() -> list[SettingsKind]:
    return [SettingsKind()]
