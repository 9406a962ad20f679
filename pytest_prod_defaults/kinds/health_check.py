"""``[[health_check]]``: an endpoint answers with the documented status,
content type and JSON, within a latency budget; each reported on its own."""

from __future__ import annotations

import datetime
import json
import re
import statistics
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from ..checks import BaseKind, Check, Reads
from ..hookspecs import hookimpl
from ..manifest import Manifest
from ..model import Entry, HttpMethod, HttpStatus, UrlPath
from ..outcomes import Drift, TargetUnavailable
from ..target import BODY_LIMIT, ProbeRequest, ProbeResponse, Target

if TYPE_CHECKING:
    from ..captured import CaptureContext, PathResponses, ProbedPaths
    from ..manifest_text import ManifestWriter

HEALTH_PATHS = ("/healthz", "/health", "/livez", "/readyz", "/status", "/ping")
NO_SUCH_PATH = "/.prod-defaults-init/no-such-path"
"""Asked first: an app that answers it as it answers a health path answers
everything (a catch-all route), and has no health endpoint to find there."""
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_MEDIA_TYPE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+/[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
SHOWN_VALUE_CHARS = 80


def _toml_only_values(value: Any, where: str = "") -> None:
    if isinstance(value, (datetime.date, datetime.time)):
        raise ValueError(f"{where or 'a value'} is a TOML date or time, which JSON has not; write it as a string")
    if isinstance(value, dict):
        for key, item in value.items():
            _toml_only_values(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _toml_only_values(item, f"{where}[{index}]")


class HealthCheckEntry(Entry):
    """An endpoint answers with the documented status, content type and JSON,
    within a latency budget, each its own item; named by its path."""

    path: UrlPath = Field(description="the endpoint")
    method: HttpMethod = Field(default="GET", description="the method of the request")
    status: HttpStatus = Field(default=200, description="the status it answers with")
    content_type: str | None = Field(
        default=None, description="the media type it answers with; parameters (`charset`) compared only when given"
    )
    # A field called ``json`` would shadow BaseModel.json; the manifest key is still ``json``.
    json_body: dict[str, Any] | None = Field(
        default=None, alias="json", description="the body is JSON holding these keys with these values (recursively)"
    )
    max_ms: float | None = Field(
        default=None, gt=0, description="latency budget in milliseconds: the median of `samples` requests"
    )
    samples: int = Field(default=5, ge=1, le=100, description="how many requests `max_ms` is the median of")

    @field_validator("content_type")
    @classmethod
    def _content_type(cls, content_type: str) -> str:
        media_type, _ = parse_content_type(content_type)
        if not _MEDIA_TYPE.fullmatch(media_type):
            raise ValueError(f"{content_type!r} is not a media type like 'application/json'")
        return content_type

    @field_validator("json_body")
    @classmethod
    def _json_values(cls, body: dict[str, Any] | None) -> dict[str, Any] | None:
        _toml_only_values(body)
        return body

    def default_name(self) -> str:
        return self.path


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """``'Application/JSON; charset="UTF-8"'`` → ``('application/json', {'charset': 'UTF-8'})``."""
    media_type, *parts = value.split(";")
    parameters: dict[str, str] = {}
    for part in parts:
        key, _, parameter = part.partition("=")
        parameter = parameter.strip()
        if len(parameter) >= 2 and parameter[0] == parameter[-1] == '"':
            parameter = parameter[1:-1]
        if key.strip():
            parameters[key.strip().lower()] = parameter
    return media_type.strip().lower(), parameters


def content_type_holds(documented: str, live: str) -> bool:
    documented_type, documented_parameters = parse_content_type(documented)
    live_type, live_parameters = parse_content_type(live)
    if documented_type != live_type:
        return False
    for key, value in documented_parameters.items():
        live_value = live_parameters.get(key)
        # charset names are case-insensitive; other parameters are compared as written
        if live_value is None or (live_value.lower() != value.lower() if key == "charset" else live_value != value):
            return False
    return True


def show_json(value: Any) -> str:
    """A JSON value, short: never a whole body."""
    if isinstance(value, str) and len(value) > SHOWN_VALUE_CHARS - 2:
        return json.dumps(value[: SHOWN_VALUE_CHARS - 5] + "...", ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 3] + "..."


MISSING = object()


def json_differences(documented: Any, live: Any, where: str = "") -> Iterator[tuple[str, Any, Any]]:
    """``(key path, documented, live)`` for each place ``live`` does not
    contain ``documented``: objects as subsets, recursively; arrays element
    by element; ``true`` never equals ``1``."""
    if isinstance(documented, dict):
        if not isinstance(live, dict):
            yield where or "(body)", documented, live
            return
        for key, value in documented.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in live:
                yield path, value, MISSING
            else:
                yield from json_differences(value, live[key], path)
    elif isinstance(documented, list):
        if not isinstance(live, list) or len(live) != len(documented):
            yield where, documented, live
            return
        for index, (expected, actual) in enumerate(zip(documented, live, strict=True)):
            yield from json_differences(expected, actual, f"{where}[{index}]")
    elif isinstance(documented, bool) or isinstance(live, bool):
        if type(documented) is not type(live) or documented != live:
            yield where, documented, live
    elif documented != live:
        yield where, documented, live


class HealthCheck:
    """The checks of one entry; each reads the shared response, except the
    latency check, which sends its own uncached requests."""

    def __init__(self, entry: HealthCheckEntry) -> None:
        self.entry = entry
        self.name = entry.display_name()
        self.request = ProbeRequest(entry.path, entry.method)

    def _response(self, target: Target) -> tuple[ProbeResponse, str]:
        response = target.response(self.request)
        return response, f"{self.entry.method} {self.entry.path} answered {response.status}"

    def check_status(self, target: Target) -> None:
        response, _ = self._response(target)
        if response.status != self.entry.status:
            raise Drift(f"health_check {self.name} status", str(self.entry.status), str(response.status))

    def check_content_type(self, target: Target) -> None:
        documented = self.entry.content_type
        assert documented is not None
        response, answered = self._response(target)
        live = response.first("content-type")
        if live is None:
            raise Drift(f"health_check {self.name} content_type", repr(documented), "missing", answered)
        if not content_type_holds(documented, live):
            raise Drift(f"health_check {self.name} content_type", repr(documented), repr(live), answered)

    def check_json(self, target: Target) -> None:
        documented = self.entry.json_body
        assert documented is not None
        response, answered = self._response(target)
        what = f"health_check {self.name} json"
        wanted = f"JSON containing {show_json(documented)}"
        if not response.complete:
            raise Drift(what, wanted, "a body still streaming when cut off at [target].timeout", answered)
        try:
            live = json.loads(response.content)
        except (UnicodeDecodeError, ValueError):
            content_type = response.first("content-type") or "no content-type"
            length = len(response.content)
            size = f"over {BODY_LIMIT} bytes" if length >= BODY_LIMIT else f"{length} bytes"
            raise Drift(what, wanted, f"not JSON ({content_type}, {size})", answered) from None
        differences = list(json_differences(documented, live))
        if differences:
            raise Drift(
                what,
                ", ".join(f"{path} = {show_json(expected)}" for path, expected, _ in differences),
                ", ".join(
                    f"{path} missing" if actual is MISSING else f"{path} = {show_json(actual)}"
                    for path, _, actual in differences
                ),
                answered,
            )

    def check_latency(self, target: Target) -> None:
        budget = self.entry.max_ms
        assert budget is not None
        samples = self.entry.samples
        responses = [target.fetch(self.request) for _ in range(samples)]
        median_ms = statistics.median(response.elapsed for response in responses) * 1000
        if median_ms > budget:
            statuses = sorted({response.status for response in responses})
            detail = None
            if statuses != [self.entry.status]:
                detail = "answered " + ", ".join(map(str, statuses))
            plural = "request" if samples == 1 else "requests"
            raise Drift(
                f"health_check {self.name} latency",
                f"median <= {budget:g} ms over {samples} {plural}",
                f"median {median_ms:.0f} ms",
                detail,
            )


class CapturedHealthCheck:
    """A health endpoint as ``init`` found it."""

    # Not a dataclass: this module is imported on every checking run, and a
    # dataclass is built (its __init__ compiled) at import; init alone uses it.

    def __init__(self, path: str, status: int, content_type: str | None, json_body: dict[str, Any]) -> None:
        self.path = path
        self.status = status
        self.content_type = content_type
        self.json_body = json_body


def find_health_paths(context: CaptureContext) -> list[str]:
    """The usual health paths that answer 2xx, unless the app answers every
    path that way (a catch-all route)."""
    target = context.target
    try:
        catch_all: ProbeResponse | None = target.fetch(ProbeRequest(NO_SUCH_PATH))
    except TargetUnavailable:
        catch_all = None  # the paths asked for will say what is wrong, in their own words
    found = []
    for path in HEALTH_PATHS:
        context.progress(f"looking for a health endpoint: GET {path}")
        response = target.response(ProbeRequest(path))
        if not 200 <= response.status < 300:
            continue
        if catch_all is not None and (response.status, response.body) == (catch_all.status, catch_all.body):
            continue
        found.append(path)
    return found


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


class HealthCheckKind(BaseKind):
    key = "health_check"
    many = True
    model = HealthCheckEntry
    identity_key = "path"
    title = "Health checks"
    section_title = "health endpoints"

    def checks(self, entry: HealthCheckEntry, manifest: Manifest) -> Iterable[Check]:
        health = HealthCheck(entry)
        name = health.name
        reads = Reads(health.request)
        yield Check("health_check", name, "status", entry, health.check_status, reads=reads)
        if entry.content_type is not None:
            yield Check("health_check", name, "content_type", entry, health.check_content_type, reads=reads)
        if entry.json_body is not None:
            yield Check("health_check", name, "json", entry, health.check_json, reads=reads)
        if entry.max_ms is not None:
            yield Check("health_check", name, "latency", entry, health.check_latency)

    def probed_paths(self, entry: HealthCheckEntry, manifest: Manifest) -> Iterable[str]:
        return [entry.path] if entry.method == "GET" else []

    def paths_to_capture(self, context: CaptureContext) -> ProbedPaths:
        from ..captured import ProbedPaths

        return ProbedPaths(tuple(find_health_paths(context)), "found as health endpoints")

    def capture(self, context: CaptureContext) -> list[CapturedHealthCheck]:
        found = context.probed[self.key].paths
        return [capture_health_check(item) for item in context.responses if item.path in found]

    def write_entry(self, out: ManifestWriter, health: CapturedHealthCheck) -> None:
        out.table("health_check", many=True)
        out.key("path", health.path)
        out.key("status", health.status)
        if health.content_type:
            out.key("content_type", health.content_type)
        if health.json_body:
            out.key("json", health.json_body, "the keys that answered the same twice")
        out.commented_key("max_ms", 250, "a latency budget: median of `samples` requests")
        out.people()

    def summary(self, items: Sequence[CapturedHealthCheck] | None) -> str | None:
        from ..captured import counted

        return counted(len(items or ()), "health check")


@hookimpl
def pytest_prod_defaults_kinds() -> list[HealthCheckKind]:
    return [HealthCheckKind()]
