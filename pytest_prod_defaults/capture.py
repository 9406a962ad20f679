"""What a live app does, captured as a manifest: ``prod-defaults init``.

The app is probed in-process through :class:`~pytest_prod_defaults.target.Target`,
as ``pytest --check-defaults`` probes it, and every value written is one the
kind's own comparison accepts against what was seen, so the captured
manifest passes against the same app unchanged. Secrets are never written:
SecretStr fields are listed by name, secret middleware options are left out.
This module probes and holds what was found; what a live value is written as
is :mod:`~pytest_prod_defaults.inference`'s, the comparison with the bases of
``--extends`` :mod:`~pytest_prod_defaults.amend`'s, and the TOML text
:mod:`~pytest_prod_defaults.manifest_writer`'s. Nothing here knows pytest.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .amend import BaseComparison, Inheritance
from .bodies import GeneratedBody
from .cache_control import (
    cache_control_problems,
    format_cache_control,
    is_token,
    parse_cache_control,
    parse_vary,
    uncacheable_by_shared_cache,
)
from .inference import Unwritable, header_display_name, header_matcher, value_pattern, written
from .kinds.cache_rule import CACHE_HEADERS
from .kinds.config import config_values_equal, dotted_path, holds_secret, same_value
from .kinds.health_check import parse_content_type
from .kinds.middleware import SENSITIVE_OPTION_WORDS, added_options
from .kinds.settings import NO_SETTING, comparable, none_set, read_setting, setting_holds
from .kinds.undocumented import APPLICATION_SETTINGS, FRAMING_HEADERS, probed_paths
from .model import Target as TargetSpec
from .outcomes import TargetUnavailable
from .redaction import Redactor, credential_values, is_credential, redacted_output, secret_name
from .set_cookie import parse_set_cookie, split_set_cookie
from .sizes import format_size
from .target import ProbeRequest, ProbeResponse, Target

if TYPE_CHECKING:
    from .manifest import Manifest

HEALTH_PATHS = ("/healthz", "/health", "/livez", "/readyz", "/status", "/ping")
NO_SUCH_PATH = "/.prod-defaults-init/no-such-path"
"""Asked first: an app that answers it as it answers a health path answers
everything (a catch-all route), and has no health endpoint to find there."""
SETTINGS_ATTRIBUTES = (*APPLICATION_SETTINGS, "title")
"""Application attributes ``[settings]`` documents (the undocumented check's
list, and the title); each only where the installed framework has it."""
DEFAULT_UPLOAD_CAP = 1024**3
FIRST_UPLOAD_SIZE = 1024
UPLOAD_METHOD = "POST"

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

Progress = Callable[[str], None]


class CaptureError(Exception):
    """Something asked for cannot be captured (an upload path with no
    route, a config object that is not a settings object)."""


# -- what to capture, and what was captured ----------------------------------


@dataclass(frozen=True)
class CaptureRequest:
    """``prod-defaults init``'s arguments."""

    app: str
    root: Path
    """Where the app is imported from (the working directory)."""
    host: str | None = None
    paths: tuple[str, ...] = ("/",)
    config: str | None = None
    uploads: tuple[str, ...] = ()
    upload_cap: int = DEFAULT_UPLOAD_CAP
    app_dir: str | None = None
    """Written as ``[target].app_dir`` when the manifest lives elsewhere."""
    timeout: float = 5.0
    extends: tuple[str, ...] = ()
    """``--extends``: the bases, written as ``extends``; only what differs from them is written."""
    env: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    """``[target].env`` and ``headers`` the bases give: the app is captured as it will be checked."""


@dataclass
class LeftOut:
    """A live value that is not written down, and why."""

    name: str
    reason: str


@dataclass
class CapturedHeader:
    name: str
    matcher: str
    """``equals`` or ``matches``."""
    value: str
    paths: list[str] | None
    note: str | None = None


@dataclass
class CapturedCookie:
    name: str
    path: str
    attributes: dict[str, Any]


@dataclass
class CapturedHealthCheck:
    path: str
    status: int
    content_type: str | None
    json_body: dict[str, Any]


@dataclass
class CapturedUpload:
    name: str
    path: str
    max_bytes: int
    over_limit_status: int
    skip: str | None = None


@dataclass
class CapturedCacheRule:
    name: str
    cache_control: str | None
    cached: list[str] = field(default_factory=list)
    not_cached: list[str] = field(default_factory=list)
    vary: list[str] | None = None


@dataclass
class CapturedMiddleware:
    class_name: str
    options: dict[str, Any]
    left_out: list[LeftOut]


@dataclass
class CapturedConfig:
    reference: str
    values: dict[str, Any]
    secrets: list[str]
    left_out: list[LeftOut]


@dataclass
class Captured:
    """Everything ``init`` found, ready to be written as a manifest."""

    request: CaptureRequest
    service_name: str
    paths: list[str]
    statuses: dict[str, int]
    headers: list[CapturedHeader] = field(default_factory=list)
    intermittent_headers: list[str] = field(default_factory=list)
    cookies: list[CapturedCookie] = field(default_factory=list)
    health_checks: list[CapturedHealthCheck] = field(default_factory=list)
    uploads: list[CapturedUpload] = field(default_factory=list)
    cache_rules: list[CapturedCacheRule] = field(default_factory=list)
    settings: dict[str, Any] | None = None
    settings_left_out: list[LeftOut] = field(default_factory=list)
    middleware: list[CapturedMiddleware] | None = None
    config: CapturedConfig | None = None
    not_an_application: str | None = None
    """Why settings and middleware could not be read (a plain ASGI app)."""
    notes: list[str] = field(default_factory=list)
    paths_from_bases: list[str] = field(default_factory=list)
    """Paths the bases' entries request, probed so their headers are documented too."""
    inheritance: Inheritance | None = None
    """With ``--extends``: what the bases already say, compared with the live app."""


# -- probing ------------------------------------------------------------------------


@dataclass
class PathResponses:
    """Two answers to ``GET path``: the first is the one every check of a
    ``pytest --check-defaults`` run shares, the second shows what varies."""

    path: str
    first: ProbeResponse
    second: ProbeResponse


class Capture:
    """One capture run against one live app."""

    def __init__(
        self, request: CaptureRequest, progress: Progress | None = None, bases: Manifest | None = None
    ) -> None:
        self.request = request
        self.progress = progress or (lambda message: None)
        self.bases = bases
        spec = TargetSpec(
            app=request.app,
            host=request.host,
            paths=list(request.paths),
            timeout=request.timeout,
            lifespan="auto",
            env=dict(request.env),
            headers=dict(request.headers),
        )
        self.target = Target(spec, request.root)
        if request.config:
            # Known before the app starts: its startup may log them.
            self.target.redact.add_source(partial(self.config_secrets, request.config))

    def config_secrets(self, reference: str) -> list[str]:
        self.target.ready_for_secrets()
        return list(credential_values(None, self.target.load(reference)))

    def close(self) -> None:
        self.target.close()

    def run(self) -> Captured:
        request = self.request
        self.progress(f"importing {request.app}")
        app = self.target.app()
        for path in request.paths:  # first, so a broken app is reported on a path the user gave
            self.progress(f"GET {path}")
            self.target.response(ProbeRequest(path))
        health_paths = self.find_health_paths()
        from_bases = self.paths_the_bases_probe()
        paths = list(dict.fromkeys([*request.paths, *health_paths, *from_bases]))
        responses = []
        for path in paths:
            self.progress(f"GET {path}")
            responses.append(
                PathResponses(path, self.target.response(ProbeRequest(path)), self.target.fetch(ProbeRequest(path)))
            )
        captured = Captured(
            request=request,
            service_name=service_name(app, request.app),
            paths=paths,
            statuses={item.path: item.first.status for item in responses},
            paths_from_bases=[path for path in from_bases if path not in {*request.paths, *health_paths}],
        )
        if request.config:
            # First: a header publishing one of its secrets must not be written.
            self.progress(f"reading {request.config}")
            captured.config = capture_config(request.config, self.target)
        captured.cache_rules = capture_cache_rules(responses)
        covered = {path for rule in captured.cache_rules for path in (*rule.cached, *rule.not_cached)}
        captured.headers, captured.intermittent_headers = capture_headers(responses, covered, self.target.redact)
        captured.cookies = capture_cookies(responses, captured.notes)
        captured.health_checks = [capture_health_check(item) for item in responses if item.path in health_paths]
        self.capture_application(app, captured)
        names: set[str] = set()
        for path in request.uploads:
            upload = self.find_upload_limit(path, unique_upload_name(path, names), captured.notes)
            if upload is not None:
                captured.uploads.append(upload)
        if request.host is None and any(status == 400 for status in captured.statuses.values()):
            captured.notes.append(
                "some paths answered 400: if the app checks the Host header (TrustedHostMiddleware), give --host"
            )
        return captured

    def paths_the_bases_probe(self) -> list[str]:
        """Paths the bases' entries request: the merged manifest probes them
        for undocumented headers, so what they answer is captured too."""
        if self.bases is None:
            return []
        with_our_paths = dataclasses.replace(self.bases, target=self.target.spec)
        return [path for path in probed_paths(with_our_paths) if path not in self.request.paths]

    def find_health_paths(self) -> list[str]:
        try:
            catch_all: ProbeResponse | None = self.target.fetch(ProbeRequest(NO_SUCH_PATH))
        except TargetUnavailable:
            catch_all = None  # the paths asked for will say what is wrong, in their own words
        found = []
        for path in HEALTH_PATHS:
            self.progress(f"looking for a health endpoint: GET {path}")
            response = self.target.response(ProbeRequest(path))
            if not 200 <= response.status < 300:
                continue
            if catch_all is not None and (response.status, response.body) == (catch_all.status, catch_all.body):
                continue
            found.append(path)
        return found

    def capture_application(self, app: Any, captured: Captured) -> None:
        from starlette.applications import Starlette

        if not isinstance(app, Starlette):
            captured.not_an_application = f"{self.request.app} is a {type(app).__name__}, not FastAPI or Starlette"
            return
        captured.settings, captured.settings_left_out = capture_settings(app)
        captured.middleware = capture_middleware(app.user_middleware)

    # -- uploads ----------------------------------------------------------------

    def send_upload(self, path: str, size: int, content_length: bool = True) -> int:
        body = GeneratedBody.raw(size)
        headers = [("Content-Type", body.content_type)]
        if content_length:
            headers.append(("Content-Length", str(size)))
        how = "" if content_length else ", streamed"
        self.progress(f"{UPLOAD_METHOD} {path}: {format_size(size)}{how}")
        response = self.target.send_body(ProbeRequest(path, UPLOAD_METHOD, tuple(headers)), body.chunks)
        return response.status

    def find_upload_limit(self, path: str, name: str, notes: list[str]) -> CapturedUpload | None:
        """The largest body ``path`` accepts: doubling until a size is
        rejected, then a binary search between the last accepted size and the
        first rejected one. Bodies are generated as they are sent, so memory
        stays flat however large the limit. ``None`` (and a note) when no
        size up to the cap is rejected."""
        accepted_status = self.send_upload(path, 1)
        if accepted_status in (404, 405):
            raise CaptureError(
                f"--upload {path}: {UPLOAD_METHOD} {path} answered {accepted_status}: no upload route there"
            )
        if accepted_status == 413:
            raise CaptureError(f"--upload {path}: {UPLOAD_METHOD} {path} rejects even a 1-byte body with 413")

        def rejected(status: int) -> bool:
            return status >= 400 and status != accepted_status

        cap = self.request.upload_cap
        largest_accepted, smallest_rejected, rejection = 1, 0, 0
        size = FIRST_UPLOAD_SIZE
        while True:
            size = min(size, cap)
            status = self.send_upload(path, size)
            if rejected(status):
                smallest_rejected, rejection = size, status
                break
            largest_accepted = size
            if size >= cap:
                notes.append(
                    f"{UPLOAD_METHOD} {path} answered {accepted_status} to every size up to {format_size(cap)}"
                    " (--upload-cap): no limit found, no [[upload]] entry written"
                )
                return None
            size *= 2
        while smallest_rejected - largest_accepted > 1:
            middle = (largest_accepted + smallest_rejected) // 2
            status = self.send_upload(path, middle)
            if rejected(status):
                smallest_rejected, rejection = middle, status
            else:
                largest_accepted = middle
        upload = CapturedUpload(name, path, largest_accepted, rejection)
        streamed = self.send_upload(path, largest_accepted + 1, content_length=False)
        if streamed != rejection:
            upload.skip = (
                f"{format_size(largest_accepted + 1)} streamed without Content-Length was answered {streamed},"
                f" not {rejection}: the limit reads only the header; fix the app, then remove this skip"
            )
        return upload


def service_name(app: Any, reference: str) -> str:
    title = getattr(app, "title", None)
    if isinstance(title, str) and title and title != "FastAPI":
        return title
    return reference.split(":", 1)[0].split(".", 1)[0]


def unique_upload_name(path: str, taken: set[str]) -> str:
    segments = [segment for segment in path.split("?", 1)[0].split("/") if segment]
    name = segments[-1] if segments else "upload"
    if name in taken:
        name = path
    taken.add(name)
    return name


# -- cache rules, headers, cookies, health ------------------------------------------


def capture_cache_rules(responses: Sequence[PathResponses]) -> list[CapturedCacheRule]:
    """A rule per distinct cacheable Cache-Control (with its Vary), and one
    for the paths no shared cache may keep. Paths whose Cache-Control is
    missing, unreadable or different on the second request get no rule: their
    headers are documented as headers."""
    cached: dict[tuple[str, tuple[str, ...]], CapturedCacheRule] = {}
    not_cached = CapturedCacheRule("not cached by shared caches", None)
    for item in responses:
        lines = item.first.values("cache-control")
        if not lines:
            continue
        live = parse_cache_control(*lines)
        if live != parse_cache_control(*item.second.values("cache-control")) or cache_control_problems(live):
            continue
        if uncacheable_by_shared_cache(live):
            not_cached.not_cached.append(item.path)
            continue
        vary = [name.strip() for line in item.first.values("vary") for name in line.split(",") if name.strip()]
        if vary and not all(is_token(name) for name in vary):
            continue
        key = (format_cache_control(live), tuple(sorted(parse_vary(*item.first.values("vary")))))
        rule = cached.get(key)
        if rule is None:
            raw = ", ".join(line.strip() for line in lines)
            rule = cached[key] = CapturedCacheRule(f"cached: {raw}", raw, vary=list(dict.fromkeys(vary)) or None)
        rule.cached.append(item.path)
    rules = list(cached.values())
    if not_cached.not_cached:
        rules.append(not_cached)
    return rules


def capture_headers(
    responses: Sequence[PathResponses], cache_rule_paths: set[str], redact: Redactor | None = None
) -> tuple[list[CapturedHeader], list[str]]:
    """Header entries for every response header the undocumented check would
    ask about, and the headers sent on one request but not the next (for
    ``ignore_headers``). A value that carries a credential ``redact`` knows
    of (a config secret, a cookie's value, a token) is written as a pattern
    of its shape, never as it is."""
    all_paths = [item.path for item in responses]
    by_name: dict[str, dict[str, tuple[str, str, str | None]]] = {}
    intermittent: dict[str, None] = {}
    for item in responses:
        ignored = set(FRAMING_HEADERS) | {"set-cookie"}
        if item.path in cache_rule_paths:
            ignored |= set(CACHE_HEADERS)
        for name in dict.fromkeys([*item.first.names(), *item.second.names()]):
            if name in ignored:
                continue
            first, second = item.first.values(name), item.second.values(name)
            if not first or not second:
                intermittent[name] = None
                continue
            if redact is not None and not secret_name(name) and _carries_credential(redact, [*first, *second]):
                pattern = value_pattern([value.strip() for value in [*first, *second]])
                never = "carries a credential: never written down"
                by_name.setdefault(name, {})[item.path] = ("matches", pattern, never)
                continue
            by_name.setdefault(name, {})[item.path] = header_matcher(name, first, second)
    headers: list[CapturedHeader] = []
    for name, per_path in by_name.items():
        if name in intermittent:
            continue
        groups: dict[tuple[str, str, str | None], list[str]] = {}
        for path, path_matcher in per_path.items():
            groups.setdefault(path_matcher, []).append(path)
        for (matcher, value, note), paths in groups.items():
            written_paths = None if paths == all_paths else paths
            headers.append(CapturedHeader(header_display_name(name), matcher, value, written_paths, note))
    return headers, list(intermittent)


def _carries_credential(redact: Redactor, values: Sequence[str]) -> bool:
    return any(redact(value) != value for value in values)


def capture_cookies(responses: Sequence[PathResponses], notes: list[str]) -> list[CapturedCookie]:
    """The first response that sets each cookie, with the attributes it set
    (never its value)."""
    cookies: dict[str, CapturedCookie] = {}
    for item in responses:
        for header in split_set_cookie(item.first.values("set-cookie")):
            cookie = parse_set_cookie(header)
            if cookie.name in cookies:
                continue
            if not _COOKIE_NAME.fullmatch(cookie.name):
                notes.append(f"GET {item.path} sets a cookie with an unusable name {cookie.name!r}: not written")
                continue
            attributes: dict[str, Any] = {
                "secure": cookie.has("secure"),
                "http_only": cookie.has("httponly"),
            }
            same_site = (cookie.get("samesite") or "").strip().lower()
            if same_site in ("strict", "lax", "none"):
                attributes["same_site"] = same_site
            if cookie.max_age is not None:
                attributes["max_age"] = cookie.max_age
            if cookie.get("domain"):
                attributes["domain"] = cookie.get("domain")
            if cookie.get("path") is not None:
                attributes["path_attr"] = cookie.get("path")
            cookies[cookie.name] = CapturedCookie(cookie.name, item.path, attributes)
    return list(cookies.values())


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def capture_health_check(item: PathResponses) -> CapturedHealthCheck:
    """Status, media type, and the top-level scalar JSON keys whose values
    were the same on both requests (not timestamps)."""
    content_type = item.first.first("content-type")
    first, second = _json_object(item.first.body), _json_object(item.second.body)
    stable = {
        key: value
        for key, value in first.items()
        if isinstance(value, (bool, int, float, str))
        and key in second
        and type(second[key]) is type(value)
        and second[key] == value
        and not (isinstance(value, str) and _TIMESTAMP.match(value))
    }
    media_type = parse_content_type(content_type)[0] if content_type else None
    return CapturedHealthCheck(item.path, item.first.status, media_type, stable)


# -- the application object and its configuration -----------------------------------


def capture_settings(app: Any) -> tuple[dict[str, Any], list[LeftOut]]:
    values: dict[str, Any] = {}
    left_out: list[LeftOut] = []
    for name in SETTINGS_ATTRIBUTES:
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
    return values, left_out


def _secret_option(name: str, value: Any) -> bool:
    lowered = name.lower()
    return holds_secret(value) or (
        isinstance(value, (str, bytes)) and any(word in lowered for word in SENSITIVE_OPTION_WORDS)
    )


def capture_middleware(user_middleware: Sequence[Any]) -> list[CapturedMiddleware]:
    """Each middleware by class name (by dotted path where two different
    classes share a name), with the options it was added with."""
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
            if _secret_option(name, value):
                left_out.append(LeftOut(name, "a secret, never written down"))
                continue
            try:
                options[name] = written(value, value, same_value)
            except Unwritable as exc:
                left_out.append(LeftOut(name, str(exc)))
        captured.append(CapturedMiddleware(label, options, left_out))
    return captured


def capture_config(reference: str, target: Target) -> CapturedConfig:
    """The settings object's fields as values, and its credentials (by type,
    name or shape) by name only; the target's redactor learns the
    credentials. The object is the one the app uses (:meth:`Target.load`)."""
    from pydantic import BaseModel

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


def capture(request: CaptureRequest, progress: Progress | None = None, bases: Manifest | None = None) -> Captured:
    """Probe the app ``request`` names and return what it does; with
    ``bases`` (the manifest of ``request.extends`` alone), also run the
    inherited entries against the same app to find what need not be written."""
    run = Capture(request, progress, bases)
    # No test captures what the app prints while it starts, answers and
    # stops here: shown as it comes, redacted.
    with redacted_output(run.target.redact):
        try:
            captured = run.run()
            if bases is not None:
                captured.inheritance = BaseComparison(captured, bases, run.target, run.progress).compare()
            return captured
        finally:
            run.close()
