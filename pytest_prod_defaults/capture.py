"""What a live app does, captured as a manifest: ``prod-defaults init``.

The app is probed in-process through :class:`~pytest_prod_defaults.target.Target`,
as ``pytest --check-defaults`` probes it, and every value written is one the
kind's own comparison accepts against what was seen, so the captured
manifest passes against the same app unchanged. Secrets are never written:
SecretStr fields are listed by name, secret middleware options are left out.
Nothing here knows pytest.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from .bodies import GeneratedBody
from .cache_control import (
    cache_control_problems,
    format_cache_control,
    is_token,
    parse_cache_control,
    parse_vary,
    uncacheable_by_shared_cache,
)
from .checks import Check, Drift, NotApplicable, TargetUnavailable, Undocumented
from .docs import toml_line
from .explain import waiver_expired
from .extends import IDENTITY_KEYS, identity
from .kinds.cache_rule import CACHE_HEADERS
from .kinds.config import config_values_equal, dotted_path, holds_secret, is_code, is_secret, same_value
from .kinds.health_check import parse_content_type
from .kinds.middleware import SENSITIVE_OPTION_WORDS, added_options, match_entries, user_middleware
from .kinds.settings import comparable, setting_holds
from .kinds.undocumented import APPLICATION_SETTINGS, FRAMING_HEADERS, probed_paths
from .model import Target as TargetSpec
from .redaction import SECRET_HEADERS
from .set_cookie import parse_set_cookie, split_set_cookie
from .sizes import format_size
from .target import ProbeRequest, ProbeResponse, Target, import_app

if TYPE_CHECKING:
    from .manifest import Manifest
    from .model import Entry

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

HTTP_DATE = r"[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_DECIMAL = re.compile(r"[0-9]+\.[0-9]+")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSTABLE_TEXT = re.compile(r" at 0x[0-9a-fA-F]+|^<.*>$")
_HEADER_WORDS = {"id": "ID", "xss": "XSS", "www": "WWW", "dns": "DNS", "md5": "MD5", "etag": "ETag", "ua": "UA"}

Progress = Callable[[str], None]


class CaptureError(Exception):
    """Something asked for cannot be captured (an upload path with no
    route, a config object that is not a settings object)."""


class Unwritable(Exception):
    """A live value the manifest cannot state (None, an object with no
    stable text); the message says why."""


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


# -- live values as TOML values -------------------------------------------------


def toml_value(value: Any) -> Any:
    """``value`` as the manifest writes it, the way the checks compare: enums
    by value, classes and functions by dotted path, tuples and sets as arrays,
    models as tables, durations in seconds, URLs and paths as text."""
    if value is None:
        raise Unwritable("None, which TOML cannot write")
    if is_secret(value):
        raise Unwritable("a secret")
    if isinstance(value, enum.Enum):
        return toml_value(value.value)
    if isinstance(value, (bool, int, float, str, datetime.date, datetime.time)):
        return value
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds.is_integer() else seconds
    if isinstance(value, PurePath):
        return str(value)
    if is_code(value):
        return dotted_path(value)
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return {name: toml_value(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Mapping):
        return {str(key): toml_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [toml_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((toml_value(item) for item in value), key=repr)
    if isinstance(value, (bytes, bytearray)):
        raise Unwritable("bytes, which TOML cannot write")
    text = str(value)
    if _UNSTABLE_TEXT.search(text):
        raise Unwritable(f"a {type(value).__name__} with no stable text form")
    return text


def written(value: Any, live: Any, holds: Callable[[Any, Any], bool]) -> Any:
    """``value`` in TOML, checked against ``live`` with the kind's own
    comparison ``holds(documented, live)``; raises :class:`Unwritable` when
    the check would not accept what is written."""
    documented = toml_value(value)
    if not holds(documented, live):
        raise Unwritable(f"its TOML form {toml_line('x', documented)[4:]} would not compare equal")
    return documented


# -- header values --------------------------------------------------------------


def header_display_name(name: str) -> str:
    """``x-request-id`` → ``X-Request-ID``: names are case-insensitive, but
    people read the usual spelling."""
    return "-".join(_HEADER_WORDS.get(word, word[:1].upper() + word[1:]) for word in name.split("-"))


def _hex_class(values: Iterable[str]) -> str:
    letters = "".join(values)
    lower = any(c in "abcdef" for c in letters)
    upper = any(c in "ABCDEF" for c in letters)
    if lower and upper:
        return "[0-9a-fA-F]"
    return "[0-9A-F]" if upper else "[0-9a-f]"


def value_pattern(values: Sequence[str]) -> str:
    """A regular expression (full match) that fits every value: a UUID, a
    number, hex of one length, or anything non-empty."""
    if any(value == "" for value in values):
        return "^.*$"
    if all(_UUID.fullmatch(value) for value in values):
        hex_class = _hex_class(values)
        return "^" + "-".join(f"{hex_class}{{{n}}}" for n in (8, 4, 4, 4, 12)) + "$"
    if all(value.isascii() and value.isdigit() for value in values):
        return "^[0-9]+$"
    if all(_DECIMAL.fullmatch(value) or (value.isascii() and value.isdigit()) for value in values):
        return r"^[0-9]+(?:\.[0-9]+)?$"
    if all(_HEX.fullmatch(value) for value in values):
        lengths = {len(value) for value in values}
        repeat = f"{{{lengths.pop()}}}" if len(lengths) == 1 else "+"
        return f"^{_hex_class(values)}{repeat}$"
    return "^.+$"


def header_matcher(name: str, first: Sequence[str], second: Sequence[str]) -> tuple[str, str, str | None]:
    """``(equals | matches, value, note)`` for a header seen with ``first``
    values on one request and ``second`` on the next."""
    if name in SECRET_HEADERS:
        return "matches", "^.+$", "its value is never written down"
    values = [value.strip() for value in [*first, *second]]
    if all(re.fullmatch(HTTP_DATE, value) for value in values):
        return "matches", f"^{HTTP_DATE}$", "an HTTP date"
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:
        return "equals", distinct[0], None
    if set(first) == set(second):
        alternatives = "|".join(re.escape(value) for value in distinct)
        return "matches", f"^(?:{alternatives})$", "sent several times with different values"
    return "matches", value_pattern(values), "differed between two requests"


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
        captured.cache_rules = capture_cache_rules(responses)
        covered = {path for rule in captured.cache_rules for path in (*rule.cached, *rule.not_cached)}
        captured.headers, captured.intermittent_headers = capture_headers(responses, covered)
        captured.cookies = capture_cookies(responses, captured.notes)
        captured.health_checks = [capture_health_check(item) for item in responses if item.path in health_paths]
        self.capture_application(app, captured)
        if request.config:
            self.progress(f"reading {request.config}")
            captured.config = capture_config(request.config, request.root)
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
    responses: Sequence[PathResponses], cache_rule_paths: set[str]
) -> tuple[list[CapturedHeader], list[str]]:
    """Header entries for every response header the undocumented check would
    ask about, and the headers sent on one request but not the next (for
    ``ignore_headers``)."""
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
        if not hasattr(app, name):
            continue
        live = getattr(app, name)
        if live is None:
            values[name] = False  # false documents "disabled": None on the app
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


def capture_config(reference: str, root: Path) -> CapturedConfig:
    from pydantic import BaseModel

    try:
        settings = import_app(reference, root, {})
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
    for name in model.model_fields:
        live = getattr(settings, name)
        if holds_secret(live):
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
    try:
        captured = run.run()
        if bases is not None:
            captured.inheritance = BaseComparison(captured, bases, run.target, run.progress).compare()
        return captured
    finally:
        run.close()


# -- extending bases: only what differs from them is written -------------------------------

CAPTURED_LISTS: dict[str, tuple[str, str]] = {
    "header": ("headers", "name"),
    "cookie": ("cookies", "name"),
    "health_check": ("health_checks", "path"),
    "upload": ("uploads", "name"),
    "cache_rule": ("cache_rules", "name"),
    "middleware": ("middleware", "class_name"),
}
"""Each array kind ``init`` captures: the :class:`Captured` list holding it,
and the attribute of an item that is its identity."""
POLICY_STRICTNESS = {"off": 0, "warn": 1, "fail": 2}
UNDOCUMENTED_POLICIES = ("headers", "settings", "middleware", "config")


@dataclass
class Amendment:
    """An inherited entry written by its identity alone. With ``skip``: it
    does not hold against the live app and nothing captured replaces it, so
    it is waived for a person to resolve. Without: written only to keep the
    order of entries that share one identity."""

    kind: str
    key: str | None
    """The identity key (``name``, ``path``, ``class``); ``None`` for a single table."""
    value: str | None
    where: str
    skip: str | None


@dataclass
class Inheritance:
    """How the live app compares with the bases of ``--extends``."""

    kept: list[str] = field(default_factory=list)
    """Captured defaults the bases already state and that hold: not written."""
    replaced: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """``(kind, identity)`` of captured entries written over an inherited
    entry that does not hold → that entry's name, and where it is and why it
    does not hold."""
    settings_notes: dict[str, str] = field(default_factory=dict)
    config_replaced: str | None = None
    slots: dict[str, list[Any]] = field(default_factory=dict)
    """Per kind, entries written first and in this order (captured items and
    amendments): several inherited entries share one identity, and the merge
    pairs them with entries of that identity in order."""
    amendments: list[Amendment] = field(default_factory=list)
    settings_people: set[str] = field(default_factory=set)
    """People fields the bases give ``[settings]``: no TODO is written over them."""
    policies: dict[str, str] = field(default_factory=dict)
    """The ``[undocumented]`` policies the bases set."""
    ignore_headers: list[str] = field(default_factory=list)
    has_config: bool = False


def _one_line_text(text: str) -> str:
    return " ".join(text.split())


def does_not_hold(checks: Iterable[Check], target: Target) -> str | None:
    """Why the first of ``checks`` to fail against ``target`` fails, in one
    line; ``None`` when they all hold. A check that cannot run here is one
    pytest skips: it does not count."""
    for check in checks:
        try:
            check.run(target)
        except NotApplicable:
            continue
        except Drift as exc:
            return _one_line_text(exc.headline())
        except Undocumented as exc:
            return _one_line_text(f"{exc.finding.what}: {', '.join(exc.finding.items)}")
        except TargetUnavailable as exc:
            return _one_line_text(f"{check.id}: target unavailable: {exc}")
        except Exception as exc:  # a kind's own error: the default cannot be said to hold
            return _one_line_text(f"{check.id}: {type(exc).__name__}: {exc}")
    return None


def waived_now(checks: Iterable[Check]) -> bool:
    """An unexpired waiver: pytest skips these checks whatever the app does."""
    return any(check.entry.skip and not waiver_expired(check) for check in checks)


def todo_waiver(problem: str) -> str:
    return f"TODO: does not hold against the app as captured ({problem}); fix the app, or say why it is waived"


def location(entry: Entry) -> str:
    if entry.inherited:
        return entry.inherited
    return f"{entry.source}:{entry.line}" if entry.line else str(entry.source)


class BaseComparison:
    """The inherited entries of ``bases`` run against the live app the
    capture probed, with the paths it will be checked on: what holds and the
    capture also found is not written again; a captured entry is written
    over an inherited one that does not hold; an inherited entry that does
    not hold and that nothing replaces is waived with a TODO."""

    def __init__(self, captured: Captured, bases: Manifest, target: Target, progress: Progress) -> None:
        self.captured = captured
        self.target = target
        self.progress = progress
        spec = target.spec.model_copy(update={"paths": list(captured.paths)})
        self.bases = dataclasses.replace(bases, target=spec)
        self.inheritance = Inheritance()

    def compare(self) -> Inheritance:
        for key, kind in self.bases.kinds.items():
            if key == "undocumented":
                self.policies()
            elif key == "settings":
                self.settings()
            elif kind.many:
                self.entries(key)
            else:
                self.table(key)
        return self.inheritance

    def problem(self, checks: Sequence[Check]) -> str | None:
        for check in checks:
            self.progress(f"checking inherited {check.id}")
        return does_not_hold(checks, self.target)

    def entries(self, key: str) -> None:
        entries = self.bases.entries(key)
        if not entries:
            return
        kind = self.bases.kinds[key]
        identity_key = IDENTITY_KEYS.get(key, "name")
        list_name, attribute = CAPTURED_LISTS.get(key, ("", ""))
        items: list[Any] = list(getattr(self.captured, list_name, None) or [])

        def identity_of(entry: Entry) -> str | None:
            return identity(key, entry.model_dump(by_alias=True, exclude_none=True))

        names = [identity_of(entry) for entry in entries]
        if key == "middleware":
            counterparts, live = self.middleware_counterparts(entries, items)
        else:
            counterparts = [[] for _ in entries]
            for index, name in enumerate(names):
                if name is not None and names.index(name) == index:
                    counterparts[index] = [
                        item for item in items if identity(key, {identity_key: getattr(item, attribute)}) == name
                    ]
        problems = []
        for entry, paired in zip(entries, counterparts, strict=True):
            checks = list(kind.checks(entry, self.bases))
            problems.append(self.problem(checks) or documents_less(key, entry, paired))
        groups: dict[str | None, list[int]] = {}
        for index, name in enumerate(names):
            groups.setdefault(name, []).append(index)
        settled: set[int] = set()  # ids of captured items that are omitted or written in the slots
        replacing: set[int] = set()  # ids of captured items written over an inherited entry
        for name, members in groups.items():
            paired = [item for index in members for item in counterparts[index]]
            failing = [index for index in members if problems[index] is not None]
            if not failing:
                settled.update(id(item) for item in paired)
                self.inheritance.kept.extend(
                    f"[[{key}]] {entries[index].display_name()}" for index in members if counterparts[index]
                )
                continue
            for index in members:
                replacing.update(id(item) for item in counterparts[index])
                if key == "middleware" and counterparts[index]:
                    # Spelled as the base spells it, so the merge puts it in that entry's place.
                    counterparts[index][0].class_name = entries[index].middleware_class  # type: ignore[attr-defined]
            first = failing[0]
            first_problem = str(problems[first])
            if name is None:
                for index in failing:
                    if not counterparts[index] and not waived_now(kind.checks(entries[index], self.bases)):
                        self.captured.notes.append(
                            f"inherited [[{key}]] at {location(entries[index])} does not hold and has no"
                            f" {identity_key} to waive it by: {problems[index]}"
                        )
                continue
            if paired:
                self.inheritance.replaced[(key, name)] = (
                    entries[first].display_name(),
                    f"{location(entries[first])}, which does not hold: {first_problem}",
                )
            if len(members) == 1:
                if not paired and not waived_now(kind.checks(entries[first], self.bases)):
                    value = str(entries[first].model_dump(by_alias=True)[identity_key])
                    self.inheritance.amendments.append(
                        Amendment(key, identity_key, value, location(entries[first]), todo_waiver(first_problem))
                    )
                continue
            # Several inherited entries share this identity: each is written, in order.
            slots = self.inheritance.slots.setdefault(key, [])
            for index in members:
                if counterparts[index]:
                    slots.extend(counterparts[index])
                    settled.update(id(item) for item in counterparts[index])
                    continue
                problem = problems[index]
                waived = problem is None or waived_now(kind.checks(entries[index], self.bases))
                value = str(entries[index].model_dump(by_alias=True)[identity_key])
                skip = None if waived or problem is None else todo_waiver(problem)
                slots.append(Amendment(key, identity_key, value, location(entries[index]), skip))
        if not list_name:
            return
        remaining = [item for item in items if id(item) not in settled]
        if key == "middleware" and live:
            taken = {name for name in names if name is not None}
            for index, item in enumerate(items):
                if id(item) not in settled | replacing and item.class_name in taken:
                    item.class_name = unclaimed_spelling(live[index].cls, taken) or item.class_name
        if getattr(self.captured, list_name) is not None:
            setattr(self.captured, list_name, remaining)

    def middleware_counterparts(
        self, entries: Sequence[Any], items: Sequence[Any]
    ) -> tuple[list[list[Any]], list[Any]]:
        """The captured middleware each inherited entry pairs with: the live
        middleware it matches (captured items are in ``user_middleware``
        order, one each)."""
        try:
            live = user_middleware(self.target, "[[middleware]]")
        except (NotApplicable, TargetUnavailable):
            return [[] for _ in entries], []
        matched = match_entries(entries, live)
        return [[items[index]] if index is not None and index < len(items) else [] for index in matched], live

    def settings(self) -> None:
        table = self.bases.section("settings")
        if table is None:
            return
        inheritance = self.inheritance
        inheritance.settings_people = {name for name in ("why", "owner", "rollback") if getattr(table, name)}
        documented = table.settings()  # type: ignore[attr-defined]
        for check in self.bases.kinds["settings"].checks(table, self.bases):
            name = check.name
            problem = self.problem([check])
            where = f"{check.entry.source}:{check.line}" if check.line else str(check.entry.source)
            live = self.captured.settings
            if live is not None and name in live:
                if problem is None:
                    del live[name]
                    inheritance.kept.append(f"[settings] {name}")
                else:
                    inheritance.settings_notes[name] = f"replaces {where}, which does not hold: {problem}"
            elif problem is not None and not waived_now([check]):
                setting = documented[name]
                people = {
                    field_name: getattr(setting, field_name)
                    for field_name in ("why", "owner", "rollback", "docs")
                    if getattr(setting, field_name)
                }
                if self.captured.settings is None:
                    self.captured.settings = {}
                self.captured.settings[name] = {"value": setting.value, **people, "skip": todo_waiver(problem)}
                inheritance.settings_notes[name] = f"inherited from {where}, waived: it does not hold"

    def table(self, key: str) -> None:
        entry = self.bases.section(key)
        if entry is None:
            return
        checks = list(self.bases.kinds[key].checks(entry, self.bases))
        problem = self.problem(checks) if checks else None
        if key == "config":
            self.inheritance.has_config = True
            if self.captured.config is not None:
                problem = problem or config_documents_less(entry, self.captured.config)
                if problem is None:
                    self.captured.config = None
                    self.inheritance.kept.append("[config]")
                else:
                    self.inheritance.config_replaced = f"{location(entry)}, which does not hold: {problem}"
                return
        if problem is not None and not waived_now(checks):
            self.inheritance.amendments.append(Amendment(key, None, None, location(entry), todo_waiver(problem)))

    def policies(self) -> None:
        table = self.bases.section("undocumented")
        if table is None:
            return
        self.inheritance.policies = {
            name: getattr(table, name) for name in UNDOCUMENTED_POLICIES if name in table.model_fields_set
        }
        self.inheritance.ignore_headers = list(getattr(table, "ignore_headers", []))


def documents_less(key: str, entry: Any, paired: Sequence[Any]) -> str | None:
    """What the captured items say that the inherited entry does not, where
    the undocumented checks would miss it: options of a middleware, example
    paths of a cache rule."""
    if key == "middleware":
        for item in paired:
            passed = [*item.options, *(left.name for left in item.left_out)]
            missing = [name for name in passed if name not in entry.options]
            if missing:
                listed = ", ".join(missing)
                return f"middleware {entry.display_name()}: the app passes options it does not document: {listed}"
    if key == "cache_rule":
        covered = {*entry.cached, *entry.not_cached}
        for item in paired:
            missing = [path for path in (*item.cached, *item.not_cached) if path not in covered]
            if missing:
                return f"cache rule {entry.display_name()}: does not cover {', '.join(missing)}"
    return None


def config_documents_less(entry: Any, config: CapturedConfig) -> str | None:
    if entry.object != config.reference:
        return f"[config] reads {entry.object}, not {config.reference}"
    documented = {*entry.values, *entry.secrets}
    missing = [
        name
        for name in (*config.values, *config.secrets, *(left.name for left in config.left_out))
        if name not in documented
    ]
    return f"[config] does not document {', '.join(missing)}" if missing else None


def unclaimed_spelling(cls: Any, taken: set[str]) -> str | None:
    """A way to name ``cls`` that no inherited entry uses, so the merge keeps
    this entry beside theirs instead of taking it for one of them."""
    for spelling in (getattr(cls, "__name__", None), dotted_path(cls)):
        if spelling and spelling not in taken:
            return str(spelling)
    return None


# -- the manifest, commented for the person who fills it in ------------------------------

TODO_PEOPLE = (
    ("why", "TODO: why does this default exist?"),
    ("owner", "TODO: who decides it? (left empty: [service].owner)"),
    ("rollback", "TODO: how is a change to it undone?"),
)


class ManifestWriter:
    """TOML text assembled line by line: tables, commented keys, and values
    written by ``tomli_w`` (through :func:`~pytest_prod_defaults.docs.toml_line`)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.leading: list[str] = []

    def comment(self, *texts: str) -> None:
        self.lines.extend(f"# {_one_line(text)}".rstrip() for text in texts)

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def section(self, title: str) -> None:
        self.blank()
        self.lines.append(f"# -- {title} ".ljust(78, "-"))
        self.blank()

    def lead(self, text: str) -> None:
        """A comment on the next table, written right above it."""
        self.leading.append(text)

    def listed(self, title: str, items: Sequence[str], width: int = 100) -> None:
        """``title`` and the ``items`` as comment lines, never breaking an item."""
        lines = [f"{title}:"]
        for item in items:
            if len(lines[-1]) + len(item) + 3 > width - 2:
                lines.append(" ")
            lines[-1] += f" {item},"
        lines[-1] = lines[-1].rstrip(",")
        self.comment(*lines)

    def table(self, name: str, many: bool = False) -> None:
        self.blank()
        self.comment(*self.leading)
        self.leading.clear()
        self.lines.append(f"[[{name}]]" if many else f"[{name}]")

    def key(self, key: str, value: Any, comment: str | None = None) -> None:
        line = toml_line(key, value)
        self.lines.append(f"{line}  # {_one_line(comment)}" if comment else line)

    def commented_key(self, key: str, value: Any, comment: str) -> None:
        self.lines.append(f"# {toml_line(key, value)}  # {_one_line(comment)}")

    def people(self, inherited: Iterable[str] = ()) -> None:
        """The TODO people fields, except those a base gives this table."""
        for key, comment in TODO_PEOPLE:
            if key not in inherited:
                self.key(key, "", comment)

    def left_out(self, items: Sequence[LeftOut], where: str) -> None:
        for item in items:
            self.comment(f"left out of {where}: {item.name} ({item.reason})")

    def text(self) -> str:
        return "\n".join(self.lines).rstrip("\n") + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def policies(captured: Captured) -> dict[str, tuple[str, str | None]]:
    """``[undocumented]``: every policy ``fail``, except where something live
    could not be written down (a secret, a None), which would fail forever."""
    result: dict[str, tuple[str, str | None]] = {
        "headers": ("fail", None),
        "settings": ("fail", None),
        "middleware": ("fail", None),
        "config": ("fail", None),
    }
    if captured.not_an_application:
        reason = f"{captured.not_an_application}: nothing to read"
        result["settings"] = ("off", reason)
        result["middleware"] = ("off", reason)
    if captured.settings_left_out:
        result["settings"] = ("warn", "not fail: some settings could not be written down (see [settings])")
    if captured.middleware and any(item.left_out for item in captured.middleware):
        result["middleware"] = ("warn", "not fail: some options could not be written down (see [[middleware]])")
    if captured.config and captured.config.left_out:
        result["config"] = ("warn", "not fail: some fields could not be written down (see [config])")
    return result


def undocumented_policies(captured: Captured) -> dict[str, tuple[str, str | None]]:
    """The ``[undocumented]`` policies to write: :func:`policies`, less those
    the bases already set as strictly or more loosely (the live app passes
    theirs), and the config policy when only a base reads a config object."""
    written = policies(captured)
    inheritance = captured.inheritance
    if inheritance is None:
        return written
    for name, (policy, _) in list(written.items()):
        theirs = inheritance.policies.get(name)
        as_strict = theirs is not None and POLICY_STRICTNESS[theirs] <= POLICY_STRICTNESS[policy]
        only_theirs = name == "config" and theirs is None and captured.config is None and inheritance.has_config
        if as_strict or only_theirs:
            del written[name]
    return written


def ignored_headers(captured: Captured) -> list[str]:
    """``ignore_headers`` to write: replacing the bases' list, so theirs too."""
    names = [header_display_name(name) for name in captured.intermittent_headers]
    inheritance = captured.inheritance
    if inheritance is None:
        return names
    theirs = {name.lower() for name in inheritance.ignore_headers}
    if all(name.lower() in theirs for name in names):
        return []
    return list(dict.fromkeys([*inheritance.ignore_headers, *names]))


def write_header(out: ManifestWriter, header: CapturedHeader) -> None:
    out.table("header", many=True)
    out.key("name", header.name)
    out.key(header.matcher, header.value, header.note)
    if header.paths is not None:
        out.key("paths", header.paths, "sent like this on these paths only")
    out.people()


def write_cookie(out: ManifestWriter, cookie: CapturedCookie) -> None:
    out.table("cookie", many=True)
    out.key("name", cookie.name)
    out.key("path", cookie.path, "a path whose response sets it")
    for key, value in cookie.attributes.items():
        out.key(key, value)
    out.people()


def write_health_check(out: ManifestWriter, health: CapturedHealthCheck) -> None:
    out.table("health_check", many=True)
    out.key("path", health.path)
    out.key("status", health.status)
    if health.content_type:
        out.key("content_type", health.content_type)
    if health.json_body:
        out.key("json", health.json_body, "the keys that answered the same twice")
    out.commented_key("max_ms", 250, "a latency budget: median of `samples` requests")
    out.people()


def write_upload(out: ManifestWriter, upload: CapturedUpload) -> None:
    out.table("upload", many=True)
    out.key("name", upload.name)
    out.key("path", upload.path)
    out.key("max_bytes", upload.max_bytes, format_size(upload.max_bytes))
    out.key("over_limit_status", upload.over_limit_status, "the answer to one byte more")
    if upload.skip:
        out.key("skip", upload.skip)
    out.people()


def write_cache_rule(out: ManifestWriter, rule: CapturedCacheRule) -> None:
    out.table("cache_rule", many=True)
    out.key("name", rule.name, 'TODO: name the rule for people, e.g. "static assets are immutable"')
    if rule.cache_control is not None:
        out.key("cache_control", rule.cache_control, "compared as a set of directives")
    if rule.cached:
        out.key("cached", rule.cached)
    if rule.not_cached:
        out.key("not_cached", rule.not_cached, "no shared cache may keep these")
    if rule.vary:
        out.key("vary", rule.vary)
    if rule.cached:
        out.commented_key(
            "bypass",
            {"cookies": ["session"], "headers": ["Authorization"]},
            "requests with these must never be served from a shared cache",
        )
    out.people()


def write_middleware(out: ManifestWriter, middleware: CapturedMiddleware) -> None:
    out.table("middleware", many=True)
    out.key("class", middleware.class_name)
    out.key("options", middleware.options, "as added; functions and classes by dotted path")
    out.left_out(middleware.left_out, "options")
    out.people()


def write_amendment(out: ManifestWriter, amendment: Amendment) -> None:
    if amendment.skip is None:
        out.lead(f"inherited unchanged from {amendment.where}: written to keep the order of entries of one name")
    else:
        out.lead(f"inherited from {amendment.where}")
    out.table(amendment.kind, many=amendment.key is not None)
    if amendment.key is not None:
        out.key(amendment.key, amendment.value)
    if amendment.skip is not None:
        out.key("skip", amendment.skip)


ITEM_WRITERS: dict[str, Callable[[ManifestWriter, Any], None]] = {
    "header": write_header,
    "cookie": write_cookie,
    "health_check": write_health_check,
    "upload": write_upload,
    "cache_rule": write_cache_rule,
    "middleware": write_middleware,
}


def write_entries(out: ManifestWriter, captured: Captured, kind: str, items: Sequence[Any], title: str | None) -> None:
    """A section of array entries: first those an inheritance writes in a
    fixed order, then the captured ones, each replacing an inherited entry
    saying which and why."""
    inheritance = captured.inheritance
    slots = inheritance.slots.get(kind, []) if inheritance else []
    if not slots and not items:
        return
    if title is not None:
        out.section(title)
    attribute = CAPTURED_LISTS[kind][1]
    noted: set[str] = set()
    for item in [*slots, *items]:
        if isinstance(item, Amendment):
            write_amendment(out, item)
            continue
        name = identity(kind, {IDENTITY_KEYS.get(kind, "name"): getattr(item, attribute)})
        replaced = inheritance.replaced.get((kind, name)) if inheritance and name is not None else None
        if replaced and name not in noted:
            noted.add(str(name))
            out.lead(f"replaces the inherited entry of {replaced[1]}")
        ITEM_WRITERS[kind](out, item)


def write_manifest(captured: Captured) -> str:
    """The manifest of what was captured, as commented TOML; with
    ``--extends``, only what differs from the bases."""
    request = captured.request
    inheritance = captured.inheritance
    out = ManifestWriter()
    out.comment(
        f"Production defaults of {captured.service_name}, as the live app showed them to `prod-defaults init`.",
        "Each value is what the app did when it was captured: keep what you mean to promise, tighten",
        "what is too loose, delete what is not a default, and fill in why, owner and rollback (the TODOs).",
        "Then `pytest --check-defaults` checks every entry against the live app.",
    )
    out.key("version", 1)
    if request.extends:
        out.key("extends", list(request.extends), "the bases: only what differs from them is written below")
    if inheritance and inheritance.kept:
        out.listed("Inherited and holding against the app as captured, so not repeated here", inheritance.kept)

    out.table("service")
    out.key("name", captured.service_name)
    out.key("owner", "", "TODO: who decides these defaults? Entries without an owner fall back to this")

    out.table("target")
    out.key("app", request.app)
    if request.app_dir:
        out.key("app_dir", request.app_dir, "where the app is imported from, relative to this file")
    if request.host:
        out.key("host", request.host)
    added = [path for path in captured.paths if path not in request.paths and path not in captured.paths_from_bases]
    paths_comment = "probed for headers and for undocumented headers"
    if added:
        paths_comment += f"; {', '.join(added)} found as health endpoints"
    if captured.paths_from_bases:
        paths_comment += f"; {', '.join(captured.paths_from_bases)} requested by the bases' entries"
    out.key("paths", captured.paths, paths_comment)
    out.commented_key("env", {"APP_ENV": "production"}, "set before the app is imported, as production runs it")
    out.comment(
        "answered when captured: " + ", ".join(f"{path} {status}" for path, status in captured.statuses.items())
    )

    write_entries(out, captured, "header", captured.headers, "response headers")
    write_entries(out, captured, "cookie", captured.cookies, "cookies (never their values)")
    write_entries(out, captured, "health_check", captured.health_checks, "health endpoints")
    write_entries(out, captured, "upload", captured.uploads, "upload limits (the largest body accepted)")
    write_entries(
        out, captured, "cache_rule", captured.cache_rules, "caching: the Cache-Control each path answered with"
    )

    middleware = captured.middleware or []
    middleware_slots = inheritance.slots.get("middleware") if inheritance else None
    if captured.settings or middleware or middleware_slots or captured.not_an_application:
        out.section("the application object")
    if captured.not_an_application:
        out.comment(f"{captured.not_an_application}: no [settings] or [[middleware]] to read.")
    if captured.settings:
        settings_notes = inheritance.settings_notes if inheritance else {}
        out.table("settings")
        out.comment("false means disabled (None on the app)")
        if inheritance and inheritance.settings_people:
            out.comment(
                f"{', '.join(sorted(inheritance.settings_people))}: the bases' apply to every setting;"
                ' give one its own with name = { value = ..., why = "..." }'
            )
        for name, value in captured.settings.items():
            out.key(name, value, settings_notes.get(name))
        out.left_out(captured.settings_left_out, "[settings]")
        out.people(inherited=inheritance.settings_people if inheritance else set())
    write_entries(out, captured, "middleware", middleware, None)

    if captured.config is not None:
        config = captured.config
        out.section("configuration")
        if inheritance and inheritance.config_replaced:
            out.lead(f"replaces the inherited [config] of {inheritance.config_replaced}")
        out.table("config")
        out.key("object", config.reference)
        out.key("secrets", config.secrets, "documented by name: never compared, never written down")
        out.left_out(config.left_out, "values")
        out.people()
        out.table("config.values")
        for name, value in config.values.items():
            out.key(name, value)

    if inheritance and inheritance.amendments:
        out.section("inherited defaults that do not hold: waived until someone decides")
        for amendment in inheritance.amendments:
            write_amendment(out, amendment)

    written_policies = undocumented_policies(captured)
    ignore = ignored_headers(captured)
    if written_policies or ignore:
        out.section("what the manifest does not mention")
        out.table("undocumented")
        for key, (policy, comment) in written_policies.items():
            out.key(key, policy, comment)
        if ignore:
            out.key("ignore_headers", ignore, "sent on one request and not the next")
    return out.text()
