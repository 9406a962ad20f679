"""``[[middleware]]``: a middleware in ``app.user_middleware``, added with the
documented options."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from ..checks import BaseKind, Check
from ..dotted import dotted_path, is_code
from ..hookspecs import hookimpl
from ..manifest import Manifest
from ..model import Entry
from ..outcomes import Drift, NotApplicable, TargetUnavailable
from ..target import Target
from .config import SECRET_MASK, holds_secret, same_value, shown_value

if TYPE_CHECKING:
    from ..captured import CaptureContext, LeftOut, SummaryNote
    from ..manifest_text import ManifestWriter

SENSITIVE_OPTION_WORDS = ("secret", "password", "passwd", "token", "api_key", "apikey", "private", "credential")
"""Option names whose text values are never shown (``SessionMiddleware(secret_key=...)``)."""


class MiddlewareEntry(Entry):
    """A middleware in ``app.user_middleware``, added with the documented
    options; named by its class."""

    middleware_class: str = Field(
        alias="class",
        min_length=1,
        description="the class name (`CORSMiddleware`) or dotted path;"
        ' `BaseHTTPMiddleware` for an `@app.middleware("http")` function',
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="the arguments it was added with (a function or class as its dotted path);"
        " one not passed compares with the constructor's default",
    )
    secrets: list[str] = Field(
        default_factory=list,
        description="options documented by name only (`secret_key`): each must have been given;"
        " never compared, never shown",
    )

    @model_validator(mode="after")
    def _a_secret_is_named_not_valued(self) -> MiddlewareEntry:
        both = sorted(set(self.options) & set(self.secrets))
        if both:
            raise ValueError(f"{', '.join(both)} in both options and secrets: a secret is documented by name only")
        return self

    def default_name(self) -> str:
        return self.middleware_class.rsplit(".", 1)[-1]


class MiddlewareDrift(Drift):
    """Several documented options differ: the first on the headline's first
    line, each other on a line of its own."""

    def __init__(self, differences: Sequence[Drift]):
        first = differences[0]
        super().__init__(first.what, first.documented, first.live, first.detail)
        self.differences = tuple(differences)

    def headline(self) -> str:
        return "\n".join(Drift.headline(difference) for difference in self.differences)


def user_middleware(target: Target, what: str) -> list[Any]:
    """``app.user_middleware`` of the target's application, outermost first;
    :class:`NotApplicable` when the app is not FastAPI or Starlette."""
    from starlette.applications import Starlette

    app = target.app()
    if not isinstance(app, Starlette):
        raise NotApplicable(
            f"{what} needs a FastAPI (or Starlette) application; {target.spec.app} is a {type(app).__name__}"
        )
    return list(app.user_middleware)


def class_name(middleware: Any) -> str:
    return str(getattr(middleware.cls, "__name__", None) or type(middleware.cls).__name__)


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except Exception:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        return obj
    return None


def is_documented_class(documented: str, middleware_class: Any) -> bool:
    """``documented`` names ``middleware_class``: by class name, by
    ``module.qualname``, or by any dotted path it is importable from
    (``fastapi.middleware.cors.CORSMiddleware`` is Starlette's class)."""
    if "." not in documented:
        return getattr(middleware_class, "__name__", None) == documented
    qualified = f"{getattr(middleware_class, '__module__', '')}.{getattr(middleware_class, '__qualname__', '')}"
    return documented == qualified or _resolve(documented) is middleware_class


def match_entries(entries: Sequence[MiddlewareEntry], live: Sequence[Any]) -> list[int | None]:
    """For each entry, the index in ``live`` of the middleware it documents
    (``None``: missing), so that one added, removed or changed middleware
    fails only the items about it.

    Identity first: as many entries as possible get a middleware of their
    class whose options equal the documented ones, each the first such by
    position that no other entry needs. Only then does each entry left over
    take the first unmatched middleware of its class, and fail with the
    differences."""
    candidates = [
        [index for index, middleware in enumerate(live) if is_documented_class(entry.middleware_class, middleware.cls)]
        for entry in entries
    ]
    exact = [
        [index for index in found if not option_drifts(entry, live[index], "")]
        for entry, found in zip(entries, candidates, strict=True)
    ]
    owner: dict[int, int] = {}  # live index -> entry position

    def claim(position: int, seen: set[int]) -> bool:
        # An augmenting path: an entry may take a middleware another entry
        # holds if that entry can move to another exact match.
        for index in exact[position]:
            if index in seen:
                continue
            seen.add(index)
            if index not in owner or claim(owner[index], seen):
                owner[index] = position
                return True
        return False

    for position in range(len(entries)):
        claim(position, set())
    matched: list[int | None] = [None] * len(entries)
    for index, position in owner.items():
        matched[position] = index
    for position, found in enumerate(candidates):
        if matched[position] is None:
            leftover = next((index for index in found if index not in owner), None)
            if leftover is not None:
                owner[leftover] = position
            matched[position] = leftover
    return matched


def added_options(middleware: Any) -> dict[str, Any]:
    """The options a middleware was added with: its keyword arguments, and
    its positional ones under their parameter names."""
    options = dict(middleware.kwargs)
    if middleware.args:
        try:
            bound = inspect.signature(middleware.cls).bind_partial(None, *middleware.args)
        except (TypeError, ValueError):
            options.update((f"<positional {number}>", value) for number, value in enumerate(middleware.args, 1))
        else:
            options.update(list(bound.arguments.items())[1:])  # the first is the wrapped app
    return options


_NO_DEFAULT = object()


def option_default(middleware_class: Any, name: str) -> Any:
    try:
        parameter = inspect.signature(middleware_class).parameters.get(name)
    except (TypeError, ValueError):
        return _NO_DEFAULT
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return _NO_DEFAULT
    return parameter.default


def shown_option(name: str, value: Any) -> str:
    """An option's value for a report: secrets and the text of secret-named
    options (``secret_key``) are masked."""
    lowered = name.lower()
    if holds_secret(value) or (
        isinstance(value, (str, bytes)) and any(word in lowered for word in SENSITIVE_OPTION_WORDS)
    ):
        return SECRET_MASK
    return shown_value(value)


def entry_labels(entries: Sequence[MiddlewareEntry]) -> list[tuple[str, str | None]]:
    """(name, detail) of each entry's item: the second entry of one name is
    ``CORSMiddleware[2]``, the third ``[3]``; the first keeps the plain name."""
    seen: dict[str, int] = {}
    labels: list[tuple[str, str | None]] = []
    for entry in entries:
        name = entry.display_name()
        seen[name] = seen.get(name, 0) + 1
        labels.append((name, None if seen[name] == 1 else str(seen[name])))
    return labels


def option_drifts(entry: MiddlewareEntry, middleware: Any, what: str) -> list[Drift]:
    """Each documented option the middleware was not added with, one drift
    each; a documented option that was not passed compares with the
    constructor's default, a documented secret must have been passed."""
    options = added_options(middleware)
    differences: list[Drift] = []
    for name, documented in entry.options.items():
        option_what = f"{what} option {name}"
        if name in options:
            value, note = options[name], None
        else:
            value, note = option_default(middleware.cls, name), "not given: the default"
            if value is _NO_DEFAULT:
                differences.append(Drift(option_what, shown_option(name, documented), "not given"))
                continue
        if not same_value(documented, value):
            differences.append(Drift(option_what, shown_option(name, documented), shown_option(name, value), note))
    for name in entry.secrets:
        if name not in options:
            note = None if option_default(middleware.cls, name) is _NO_DEFAULT else "the default is used"
            differences.append(Drift(f"{what} option {name}", "given (a secret)", "not given", note))
    return differences


def described(middleware: Any) -> str:
    """A live middleware as a report names it: its class, and for a function
    middleware (``@app.middleware("http")``) the function as well,
    ``BaseHTTPMiddleware(dispatch=app.add_request_id)``."""
    dispatch = added_options(middleware).get("dispatch")
    if is_code(dispatch):
        return f"{class_name(middleware)}(dispatch={dotted_path(dispatch)})"
    return class_name(middleware)


def descriptions(live: Sequence[Any]) -> list[str]:
    """:func:`described` for each of ``live``; one that two share says where
    it is, ``RateLimitMiddleware (app.user_middleware[2])``, as its option
    values may not be shown."""
    names = [described(middleware) for middleware in live]
    return [
        f"{name} (app.user_middleware[{index}])" if names.count(name) > 1 else name for index, name in enumerate(names)
    ]


def described_entry(entry: MiddlewareEntry) -> str:
    """A documented middleware as :func:`described` names a live one."""
    dispatch = entry.options.get("dispatch")
    if isinstance(dispatch, str):
        return f"{entry.default_name()}(dispatch={dispatch})"
    return entry.default_name()


def check_middleware(entry: MiddlewareEntry, label: str, manifest: Manifest, target: Target) -> None:
    live = user_middleware(target, "[[middleware]]")
    entries: list[MiddlewareEntry] = manifest.entries("middleware")  # type: ignore[assignment]
    position = next(index for index, candidate in enumerate(entries) if candidate is entry)
    found = match_entries(entries, live)[position]
    what = f"middleware {label}"
    if found is None:
        present = ", ".join(descriptions(live)) or "none"
        named = described_entry(entry)  # which function, for @app.middleware("http")
        documented = "in app.user_middleware" if named == entry.default_name() else f"{named} in app.user_middleware"
        raise Drift(what, documented, "missing", f"app.user_middleware has: {present}")
    differences = option_drifts(entry, live[found], what)
    if len(differences) == 1:
        raise differences[0]
    if differences:
        raise MiddlewareDrift(differences)


class CapturedMiddleware:
    """A middleware as ``init`` found it: its class, the options it was added
    with, and those left out (secrets, values TOML cannot state)."""

    # Not a dataclass: this module is imported on every checking run, and a
    # dataclass is built (its __init__ compiled) at import; init alone uses it.

    def __init__(self, class_name: str, options: dict[str, Any], left_out: list[LeftOut]) -> None:
        self.class_name = class_name
        self.options = options
        self.left_out = left_out


def secret_option(name: str, value: Any) -> bool:
    lowered = name.lower()
    return holds_secret(value) or (
        isinstance(value, (str, bytes)) and any(word in lowered for word in SENSITIVE_OPTION_WORDS)
    )


def capture_middleware(context: CaptureContext) -> list[CapturedMiddleware] | None:
    """Each middleware by class name (by dotted path where two different
    classes share a name), with the options it was added with; secrets and
    options that cannot be written are left out, saying why. ``None`` for an
    app that is not FastAPI or Starlette."""
    from starlette.applications import Starlette

    from ..captured import LeftOut
    from ..inference import Unwritable, written

    if not isinstance(context.app, Starlette):
        return None
    user_middleware = context.app.user_middleware
    classes_by_name: dict[str, set[Any]] = {}
    for middleware in user_middleware:
        classes_by_name.setdefault(getattr(middleware.cls, "__name__", ""), set()).add(middleware.cls)
    captured = []
    for middleware in user_middleware:
        cls = middleware.cls
        label = getattr(cls, "__name__", "")
        if not label or len(classes_by_name[label]) > 1:
            label = dotted_path(cls)
        options: dict[str, Any] = {}
        left_out: list[LeftOut] = []
        for name, value in added_options(middleware).items():
            if secret_option(name, value):
                left_out.append(LeftOut(name, "a secret, never written down"))
                continue
            try:
                options[name] = written(value, value, same_value)
            except Unwritable as exc:
                left_out.append(LeftOut(name, str(exc)))
        captured.append(CapturedMiddleware(label, options, left_out))
    return captured


def unclaimed_spelling(cls: Any, taken: set[str]) -> str | None:
    """A way to name ``cls`` that no inherited entry uses, so the merge keeps
    this entry beside theirs instead of taking it for one of them."""
    for spelling in (getattr(cls, "__name__", None), dotted_path(cls)):
        if spelling and spelling not in taken:
            return str(spelling)
    return None


class MiddlewareKind(BaseKind):
    key = "middleware"
    many = True
    model = MiddlewareEntry
    identity_key = "class"
    title = "Middleware"
    section_title = "the application object"

    def checks(self, entry: MiddlewareEntry, manifest: Manifest) -> Iterable[Check]:
        entries: list[MiddlewareEntry] = manifest.entries("middleware")  # type: ignore[assignment]
        position = next(index for index, candidate in enumerate(entries) if candidate is entry)
        name, detail = entry_labels(entries)[position]
        label = name if detail is None else f"{name}[{detail}]"
        yield Check("middleware", name, detail, entry, partial(check_middleware, entry, label, manifest))

    def captured_identity(self, item: CapturedMiddleware) -> str | None:
        return self.identity({self.identity_key: item.class_name})

    def capture(self, context: CaptureContext) -> list[CapturedMiddleware] | None:
        return capture_middleware(context)

    def pair_captured(
        self, entries: Sequence[MiddlewareEntry], items: Sequence[CapturedMiddleware], target: Target
    ) -> list[list[Any]]:
        """The live middleware each inherited entry matches, as its checks
        match them (captured items are in ``user_middleware`` order, one each)."""
        try:
            live = user_middleware(target, "[[middleware]]")
        except (NotApplicable, TargetUnavailable):
            return [[] for _ in entries]
        matched = match_entries(entries, live)
        return [[items[index]] if index is not None and index < len(items) else [] for index in matched]

    def documents_less(self, entry: MiddlewareEntry, items: Sequence[CapturedMiddleware]) -> str | None:
        """Options the app passes that the inherited entry does not document."""
        for item in items:
            passed = [*item.options, *(left.name for left in item.left_out)]
            missing = [name for name in passed if name not in entry.options]
            if missing:
                listed = ", ".join(missing)
                return f"middleware {entry.display_name()}: the app passes options it does not document: {listed}"
        return None

    def adopt_identity(self, item: CapturedMiddleware, entry: MiddlewareEntry) -> None:
        item.class_name = entry.middleware_class

    def keep_apart(
        self, items: Sequence[CapturedMiddleware], loose: Sequence[CapturedMiddleware], taken: set[str], target: Target
    ) -> None:
        try:
            live = user_middleware(target, "[[middleware]]")
        except (NotApplicable, TargetUnavailable):
            return
        for index, item in enumerate(items):
            if any(item is other for other in loose) and item.class_name in taken:
                item.class_name = unclaimed_spelling(live[index].cls, taken) or item.class_name

    def write_entry(self, out: ManifestWriter, middleware: CapturedMiddleware) -> None:
        out.table("middleware", many=True)
        out.key("class", middleware.class_name)
        out.key("options", middleware.options, "as added; functions and classes by dotted path")
        out.left_out(middleware.left_out, "options")
        out.people()

    def summary(self, items: Sequence[CapturedMiddleware] | None) -> str | None:
        from ..captured import counted

        return counted(len(items or ()), "middleware", "middleware")

    def summary_notes(self, items: Sequence[CapturedMiddleware] | None) -> list[SummaryNote]:
        from ..captured import SummaryNote

        return [
            SummaryNote(f"[[middleware]] {middleware.class_name}: {item.name} not written: {item.reason}")
            for middleware in items or ()
            for item in middleware.left_out
        ]


@hookimpl
def pytest_prod_defaults_kinds() -> list[MiddlewareKind]:
    return [MiddlewareKind()]
