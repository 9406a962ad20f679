"""``[config]``: values of the service's settings object (a pydantic-settings
``BaseSettings`` instance, or any pydantic model instance), read in-process.

Also home of the comparison of a TOML value with a live Python value, and of
how a live value is shown in a report without ever showing a secret; the
middleware and undocumented checks use them too.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import PurePath
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, model_validator

from ..checks import BaseKind, Check
from ..dotted import dotted_path, is_code
from ..hookspecs import hookimpl
from ..manifest import Manifest
from ..model import AppReference, Entry
from ..outcomes import Drift, TargetUnavailable
from ..redaction import credential_values, is_credential, is_secret_type
from ..target import Target

if TYPE_CHECKING:
    from ..captured import CaptureContext, Captured, CaptureRequest, LeftOut, SummaryNote
    from ..manifest_text import ManifestWriter

SECRET_MASK = "**********"
NUMBERS = (int, float)
PLAIN_TYPES = (str, bytes, int, float, list, tuple, set, frozenset, dict, Mapping)


def holds_secret(value: object) -> bool:
    """Whether a secret hides anywhere inside ``value``."""
    if is_secret_type(value):
        return True
    if isinstance(value, BaseModel):
        return any(holds_secret(getattr(value, name)) for name in type(value).model_fields)
    if isinstance(value, Mapping):
        return any(holds_secret(item) for item in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(holds_secret(item) for item in value)
    return False


def same_value(documented: Any, live: Any) -> bool:
    """Whether the TOML value ``documented`` equals the live value: lists equal
    lists and tuples (and sets, in any order), enums compare by value, paths
    as strings, classes and functions by ``module.qualname``, models as tables."""
    if is_secret_type(live):
        return same_value(documented, live.get_secret_value())
    if isinstance(live, enum.Enum):
        return same_value(documented, live.value)
    if isinstance(live, BaseModel):
        live = {name: getattr(live, name) for name in type(live).model_fields}
    elif isinstance(live, PurePath):
        live = str(live)
    elif is_code(live):
        live = dotted_path(live)
    if isinstance(documented, bool) or isinstance(live, bool):
        return isinstance(documented, bool) and isinstance(live, bool) and documented == live
    if isinstance(documented, list):
        if isinstance(live, (list, tuple)):
            return len(documented) == len(live) and all(map(same_value, documented, live))
        if isinstance(live, (set, frozenset)):
            return _same_members(documented, list(live))
        return False
    if isinstance(documented, dict):
        if not isinstance(live, Mapping) or set(documented) != {str(key) for key in live}:
            return False
        by_name = {str(key): item for key, item in live.items()}
        return all(same_value(item, by_name[key]) for key, item in documented.items())
    if isinstance(documented, NUMBERS) and isinstance(live, datetime.timedelta):
        return documented == live.total_seconds()
    if isinstance(documented, str) and live is not None and not isinstance(live, PLAIN_TYPES):
        # URLs, UUIDs, IP addresses, decimals: written as their text
        return documented == str(live)
    return bool(documented == live) and isinstance(documented, str) == isinstance(live, str)


def _same_members(documented: list[Any], live: list[Any]) -> bool:
    if len(documented) != len(live):
        return False
    remaining = list(live)
    for item in documented:
        match = next((index for index, candidate in enumerate(remaining) if same_value(item, candidate)), None)
        if match is None:
            return False
        remaining.pop(match)
    return True


def shown_value(value: Any) -> str:
    """``value`` as a report shows it: lists as lists, enums by value,
    classes and functions by dotted path, and every secret as ``**********``."""
    if is_secret_type(value):
        return SECRET_MASK
    if isinstance(value, enum.Enum):
        return shown_value(value.value)
    if isinstance(value, BaseModel):
        value = {name: getattr(value, name) for name in type(value).model_fields}
    if isinstance(value, PurePath):
        return repr(str(value))
    if is_code(value):
        return repr(dotted_path(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(shown_value(item) for item in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(shown_value(item) for item in value)) + "}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{shown_value(key)}: {shown_value(item)}" for key, item in value.items()) + "}"
    return repr(value)


class ConfigEntry(Entry):
    """The service's settings object (a pydantic-settings ``BaseSettings``
    instance, or any pydantic model instance), read in-process: one item per
    documented field."""

    object: AppReference = Field(description='the settings object: "module:attribute"')
    values: dict[str, Any] = Field(default_factory=dict, description="its fields' documented values")
    secrets: list[str] = Field(
        default_factory=list, description="fields documented by name only: each must exist; never compared or shown"
    )

    @model_validator(mode="after")
    def _a_secret_is_never_compared(self) -> ConfigEntry:
        both = [name for name in self.secrets if name in self.values]
        if both:
            raise ValueError(
                f"{', '.join(both)} in both 'values' and 'secrets': a secret's value is never written down or compared"
            )
        repeated = sorted({name for name in self.secrets if self.secrets.count(name) > 1})
        if repeated:
            raise ValueError(f"'secrets' lists {', '.join(repeated)} more than once")
        return self

    def default_name(self) -> str:
        return "config"


@dataclass
class LiveConfig:
    """The settings object of one ``[config]`` table, imported once per
    target (a factory is called once), failure included."""

    reference: str
    _target: Target | None = None
    _object: Any = None
    _failure: str | None = None

    def get(self, target: Target) -> BaseModel:
        if self._target is not target:
            self._target, self._object, self._failure = target, None, None
            try:
                self._object = load_config_object(self.reference, target)
            except TargetUnavailable as exc:
                self._failure = str(exc)
        if self._failure is not None:
            raise TargetUnavailable(self._failure)
        return self._object  # type: ignore[no-any-return]


def load_config_object(reference: str, target: Target) -> BaseModel:
    """Import ``module:attribute`` as the app is imported, among the app's
    own modules: the app's root on ``sys.path`` and ``[target].env`` set. In
    every mode, ``url`` included."""
    obj = target.load(reference)
    if isinstance(obj, type):
        raise TargetUnavailable(f"{reference} is the class {obj.__name__}: name the settings object, an instance")
    if not isinstance(obj, BaseModel):
        raise TargetUnavailable(
            f"{reference} is a {type(obj).__name__}, not a pydantic-settings BaseSettings (or pydantic model) instance"
        )
    return obj


def _typed(documented: Any, model: type[BaseModel], name: str) -> Any:
    """``documented`` converted by the field's own type (``"INFO"`` to an
    enum, ``"https://a.example"`` to a URL), or ``documented`` if it does not
    convert."""
    from pydantic import TypeAdapter

    info = model.model_fields[name]
    try:
        field_type: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        return TypeAdapter(field_type).validate_python(documented)
    except Exception:
        return documented


def config_values_equal(documented: Any, live: Any, model: type[BaseModel], name: str) -> bool:
    if same_value(documented, live):
        return True
    if isinstance(documented, bool) != isinstance(live, bool):
        return False
    if isinstance(documented, str) and isinstance(live, NUMBERS):
        return False
    converted = _typed(documented, model, name)
    if converted is documented:
        return False
    try:
        return bool(converted == live)
    except Exception:
        return False


def check_value(entry: ConfigEntry, name: str, live_config: LiveConfig, target: Target) -> None:
    settings = live_config.get(target)
    model = type(settings)
    documented = entry.values[name]
    what = f"config {name}"
    if name not in model.model_fields:
        shown = SECRET_MASK if is_credential(name, documented) else shown_value(documented)
        raise Drift(what, shown, "no such field", f"{entry.object} is a {model.__name__}")
    live = getattr(settings, name)
    if config_values_equal(documented, live, model, name):
        return
    if is_credential(name, live) or is_credential(name, documented):
        # By type, name or shape: a plain str API token, a DSN with a password.
        raise Drift(what, SECRET_MASK, SECRET_MASK, "a secret: its value is never shown")
    raise Drift(what, shown_value(documented), shown_value(live))


def check_secret(entry: ConfigEntry, name: str, live_config: LiveConfig, target: Target) -> None:
    model = type(live_config.get(target))
    if name not in model.model_fields:
        raise Drift(f"config {name}", "a secret field", "no such field", f"{entry.object} is a {model.__name__}")


class CapturedConfig:
    """The settings object as ``init`` read it: values, secrets by name, and what was left out."""

    # Not a dataclass: this module is imported on every checking run, and a
    # dataclass is built (its __init__ compiled) at import; init alone uses it.

    def __init__(self, reference: str, values: dict[str, Any], secrets: list[str], left_out: list[LeftOut]) -> None:
        self.reference = reference
        self.values = values
        self.secrets = secrets
        self.left_out = left_out


def config_secrets(target: Target, reference: str) -> list[str]:
    target.ready_for_secrets()
    return list(credential_values(None, target.load(reference)))


def capture_config(context: CaptureContext) -> CapturedConfig | None:
    """The settings object's fields as values, and its credentials (by type,
    name or shape) by name only; the target's redactor learns the
    credentials. The object is the one the app uses (:meth:`Target.load`)."""
    from ..captured import CaptureError, LeftOut
    from ..inference import Unwritable, written

    reference, target = context.request.config, context.target
    if reference is None:
        return None
    context.progress(f"reading {reference}")
    try:
        settings = target.load(reference)
    except TargetUnavailable as exc:
        raise CaptureError(f"--config {reference}: {exc}") from None
    if isinstance(settings, type) or not isinstance(settings, BaseModel):
        what = f"the class {settings.__name__}" if isinstance(settings, type) else f"a {type(settings).__name__}"
        raise CaptureError(
            f"--config {reference} is {what}: name the settings object, a pydantic-settings BaseSettings instance"
        )
    model = type(settings)
    values: dict[str, Any] = {}
    secrets: list[str] = []
    left_out: list[LeftOut] = []
    target.redact.add(credential_values(None, settings))
    for name in model.model_fields:
        live = getattr(settings, name)
        if is_credential(name, live):
            secrets.append(name)
            continue
        try:
            values[name] = written(live, live, partial(config_values_equal, model=model, name=name))
        except Unwritable as exc:
            left_out.append(LeftOut(name, str(exc)))
    return CapturedConfig(reference, values, secrets, left_out)


class ConfigKind(BaseKind):
    key = "config"
    many = False
    model = ConfigEntry
    title = "Configuration"
    section_title = "configuration"
    capture_order = -2
    """First: a header publishing one of its secrets must not be written."""

    def secrets(self, entry: ConfigEntry, target: Target) -> Iterable[str]:
        """Every credential of the settings object, by type, name or shape."""
        return list(credential_values(None, load_config_object(str(entry.object), target)))

    def checks(self, entry: ConfigEntry, manifest: Manifest) -> Iterable[Check]:
        live_config = LiveConfig(entry.object)
        for name in entry.values:
            yield Check(
                "config",
                name,
                None,
                entry,
                partial(check_value, entry, name, live_config),
                at=("config", "values", name),
            )
        for name in entry.secrets:
            yield Check(
                "config",
                name,
                "secret",
                entry,
                partial(check_secret, entry, name, live_config),
                at=("config", "secrets"),
            )

    def prepare_capture(self, request: CaptureRequest, target: Target) -> None:
        if request.config:
            # Known before the app starts: its startup may log them.
            target.redact.add_source(partial(config_secrets, target, request.config))

    def capture(self, context: CaptureContext) -> CapturedConfig | None:
        return capture_config(context)

    def documents_less(self, entry: ConfigEntry, items: Sequence[CapturedConfig]) -> str | None:
        """Another object, or fields the inherited ``[config]`` does not document."""
        for config in items:
            if entry.object != config.reference:
                return f"[config] reads {entry.object}, not {config.reference}"
            documented = {*entry.values, *entry.secrets}
            passed = (*config.values, *config.secrets, *(left.name for left in config.left_out))
            missing = [name for name in passed if name not in documented]
            if missing:
                return f"[config] does not document {', '.join(missing)}"
        return None

    def write(self, out: ManifestWriter, items: CapturedConfig | None, captured: Captured[Any]) -> None:
        if items is None:
            return
        out.section(self.section_title)
        replaced = captured.inheritance.tables_replaced.get(self.key) if captured.inheritance else None
        if replaced:
            out.lead(f"replaces the inherited [config] of {replaced}")
        out.table("config")
        out.key("object", items.reference)
        out.key("secrets", items.secrets, "documented by name: never compared, never written down")
        out.left_out(items.left_out, "values")
        out.people()
        out.table("config.values")
        for name, value in items.values.items():
            out.key(name, value)

    def summary(self, items: CapturedConfig | None) -> str | None:
        from ..captured import counted

        return counted(len(items.values) + len(items.secrets) if items else 0, "config field")

    def summary_notes(self, items: CapturedConfig | None) -> list[SummaryNote]:
        from ..captured import SummaryNote

        left_out = items.left_out if items else []
        return [SummaryNote(f"[config]: {item.name} not written: {item.reason}") for item in left_out]


@hookimpl
def pytest_prod_defaults_kinds() -> list[ConfigKind]:
    return [ConfigKind()]
