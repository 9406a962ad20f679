"""``[[upload]]``: a request body limit holds at, and just past, its size.

Three probes per entry: exactly ``max_bytes`` is not answered with
``over_limit_status``; ``max_bytes + 1`` is, sent with Content-Length and
sent streamed without it (the bypass of a limit that only reads the header).
``max_bytes`` counts the whole request body, multipart framing included, as
a server's limit does. Bodies are generated while they are sent and never
held whole.
"""

from __future__ import annotations

import http
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationInfo, field_validator

from ..bodies import DEFAULT_CONTENT_TYPE, GeneratedBody, multipart_overhead
from ..checks import BaseKind, Check
from ..hookspecs import hookimpl
from ..manifest import Manifest
from ..model import ByteSize, Entry, HttpMethod, HttpStatus, UrlPath
from ..outcomes import Drift
from ..sizes import format_size
from ..target import ProbeRequest, Target

if TYPE_CHECKING:
    from ..captured import CaptureContext, SummaryNote
    from ..manifest_text import ManifestWriter

_FIELD_NAME = re.compile(r'[^"\\\x00-\x1f\x7f]+')
_CONTENT_TYPE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;[\x20-\x7e]*)?")
DEFAULT_FIELD = "file"


class UploadEntry(Entry):
    """A request body limit holds at, and just past, its size: three items,
    at the limit, over it with Content-Length, and over it streamed."""

    name: str = Field(description="names the entry's items: `upload:<name>[at-limit]`")
    path: UrlPath = Field(description="where the body is sent")
    method: HttpMethod = Field(default="POST", description="the method it is sent with")
    encoding: Literal["raw", "multipart"] = Field(
        default="raw", description="raw: the body as it is; multipart: a form with one file"
    )
    field: str | None = Field(default=None, description='multipart only: the form field of the file (default "file")')
    content_type: str | None = Field(
        default=None,
        description="raw: the request's Content-Type; multipart: the file part's (default application/octet-stream)",
    )
    max_bytes: ByteSize = Field(
        description="the largest request body accepted, multipart framing included: integer bytes, or a size"
        ' with B, KB, MB, GB, KiB, MiB, GiB ("1 MiB")'
    )
    over_limit_status: HttpStatus = Field(default=413, description="the status a body over the limit is answered with")

    @field_validator("field")
    @classmethod
    def _field(cls, field: str, info: ValidationInfo) -> str:
        if info.data.get("encoding", "raw") != "multipart":
            raise ValueError("'field' names the form field of a multipart upload; add encoding = \"multipart\"")
        if not _FIELD_NAME.fullmatch(field):
            raise ValueError(
                f"{field!r} is not a usable form field name (no quotes, backslashes or control characters)"
            )
        return field

    @field_validator("content_type")
    @classmethod
    def _content_type(cls, content_type: str) -> str:
        if not _CONTENT_TYPE.fullmatch(content_type):
            raise ValueError(f"{content_type!r} is not a media type like 'image/png'")
        return content_type

    @field_validator("max_bytes")
    @classmethod
    def _room_for_framing(cls, max_bytes: int, info: ValidationInfo) -> int:
        if info.data.get("encoding") == "multipart":
            field = info.data.get("field") or DEFAULT_FIELD
            smallest = multipart_overhead(field, info.data.get("content_type") or DEFAULT_CONTENT_TYPE)
            if max_bytes < smallest:
                raise ValueError(
                    f"{max_bytes} bytes cannot hold a multipart body: its framing alone is {smallest} bytes"
                    " (max_bytes counts the whole request body)"
                )
        return max_bytes

    def body(self, size: int) -> GeneratedBody:
        """A body of exactly ``size`` bytes in this entry's encoding."""
        content_type = self.content_type or DEFAULT_CONTENT_TYPE
        if self.encoding == "multipart":
            return GeneratedBody.multipart(size, self.field or DEFAULT_FIELD, content_type)
        return GeneratedBody.raw(size, content_type)


@dataclass(frozen=True)
class UploadProbe:
    """One of the three requests: how far past the limit, and whether the
    size is announced in Content-Length."""

    detail: str
    extra_bytes: int
    content_length: bool

    @property
    def how_sent(self) -> str:
        return "with Content-Length" if self.content_length else "streamed without Content-Length"


PROBES = (
    UploadProbe("at-limit", 0, content_length=True),
    UploadProbe("over-limit", 1, content_length=True),
    UploadProbe("over-limit-streamed", 1, content_length=False),
)


def describe_status(status: int) -> str:
    """``413 Content Too Large``, or the bare number for unknown codes."""
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def describe_read(body: GeneratedBody) -> str:
    """How much of the body the service read before answering."""
    if body.read == 0:
        return "the service read none of the body before answering"
    if body.read >= body.size:
        return "the service read all of the body before answering"
    return f"the service read {format_size(body.read)} of it before answering"


def check_upload(entry: UploadEntry, probe: UploadProbe, target: Target) -> None:
    size = entry.max_bytes + probe.extra_bytes
    body = entry.body(size)
    headers = [("Content-Type", body.content_type)]
    if probe.content_length:
        headers.append(("Content-Length", str(size)))
    response = target.send_body(ProbeRequest(entry.path, entry.method, tuple(headers)), body.chunks)

    status = response.status
    rejected = entry.over_limit_status
    limit = format_size(entry.max_bytes)
    what = f"upload {entry.name} {probe.detail}"
    sent = f"{format_size(size)} {probe.how_sent}"
    if probe.extra_bytes == 0:
        if status == rejected:
            raise Drift(
                what,
                f"{limit} allowed (not {rejected})",
                describe_status(status),
                f"a body of exactly the documented limit, {sent}, was rejected: the live limit is lower"
                f" than {limit}, or counts off by one; {describe_read(body)}",
            )
        if status in (404, 405) and rejected not in (404, 405):
            raise Drift(
                what,
                f"{limit} allowed (not {rejected})",
                describe_status(status),
                f"{entry.method} {entry.path} reached no upload route: check path and method in the manifest",
            )
        return
    if status != rejected:
        verdict = "accepted" if 200 <= status < 400 else f"answered {status} instead of {rejected}"
        detail = f"{sent} was {verdict}; documented limit {limit} → {rejected}; {describe_read(body)}"
        if not probe.content_length and 200 <= status < 400:
            detail += "; a limit that checks only the Content-Length header misses chunked uploads"
        raise Drift(what, f"{rejected} for {format_size(size)}", describe_status(status), detail)


FIRST_UPLOAD_SIZE = 1024
UPLOAD_METHOD = "POST"


class CapturedUpload:
    """An upload limit as ``init`` found it: the largest body accepted, the
    answer to one byte more, and a waiver when the limit reads only the header."""

    # Not a dataclass: this module is imported on every checking run, and a
    # dataclass is built (its __init__ compiled) at import; init alone uses it.

    def __init__(self, name: str, path: str, max_bytes: int, over_limit_status: int) -> None:
        self.name = name
        self.path = path
        self.max_bytes = max_bytes
        self.over_limit_status = over_limit_status
        self.skip: str | None = None


class UploadLimitSearch:
    """``init --upload PATH``: the largest body each path accepts."""

    def __init__(self, context: CaptureContext) -> None:
        self.context = context

    def send(self, path: str, size: int, content_length: bool = True) -> int:
        body = GeneratedBody.raw(size)
        headers = [("Content-Type", body.content_type)]
        if content_length:
            headers.append(("Content-Length", str(size)))
        how = "" if content_length else ", streamed"
        self.context.progress(f"{UPLOAD_METHOD} {path}: {format_size(size)}{how}")
        response = self.context.target.send_body(ProbeRequest(path, UPLOAD_METHOD, tuple(headers)), body.chunks)
        return response.status

    def limit(self, path: str, name: str) -> CapturedUpload | None:
        """The largest body ``path`` accepts: doubling until a size is
        rejected, then a binary search between the last accepted size and the
        first rejected one. Bodies are generated as they are sent, so memory
        stays flat however large the limit. ``None`` (and a note) when no
        size up to the cap is rejected."""
        from ..captured import CaptureError

        accepted_status = self.send(path, 1)
        if accepted_status in (404, 405):
            raise CaptureError(
                f"--upload {path}: {UPLOAD_METHOD} {path} answered {accepted_status}: no upload route there"
            )
        if accepted_status == 413:
            raise CaptureError(f"--upload {path}: {UPLOAD_METHOD} {path} rejects even a 1-byte body with 413")

        def rejected(status: int) -> bool:
            return status >= 400 and status != accepted_status

        cap = self.context.request.upload_cap
        largest_accepted, smallest_rejected, rejection = 1, 0, 0
        size = FIRST_UPLOAD_SIZE
        while True:
            size = min(size, cap)
            status = self.send(path, size)
            if rejected(status):
                smallest_rejected, rejection = size, status
                break
            largest_accepted = size
            if size >= cap:
                self.context.notes.append(
                    f"{UPLOAD_METHOD} {path} answered {accepted_status} to every size up to {format_size(cap)}"
                    " (--upload-cap): no limit found, no [[upload]] entry written"
                )
                return None
            size *= 2
        while smallest_rejected - largest_accepted > 1:
            middle = (largest_accepted + smallest_rejected) // 2
            status = self.send(path, middle)
            if rejected(status):
                smallest_rejected, rejection = middle, status
            else:
                largest_accepted = middle
        upload = CapturedUpload(name, path, largest_accepted, rejection)
        streamed = self.send(path, largest_accepted + 1, content_length=False)
        if streamed != rejection:
            upload.skip = (
                f"{format_size(largest_accepted + 1)} streamed without Content-Length was answered {streamed},"
                f" not {rejection}: the limit reads only the header; fix the app, then remove this skip"
            )
        return upload


def unique_upload_name(path: str, taken: set[str]) -> str:
    segments = [segment for segment in path.split("?", 1)[0].split("/") if segment]
    name = segments[-1] if segments else "upload"
    if name in taken:
        name = path
    taken.add(name)
    return name


class UploadKind(BaseKind):
    key = "upload"
    many = True
    model = UploadEntry
    title = "Upload limits"
    section_title = "upload limits (the largest body accepted)"
    capture_order = 1
    """Last: it sends many requests, each a body of its own."""

    def checks(self, entry: UploadEntry, manifest: Manifest) -> Iterable[Check]:
        for probe in PROBES:
            yield Check("upload", entry.name, probe.detail, entry, partial(check_upload, entry, probe))

    def probed_paths(self, entry: UploadEntry, manifest: Manifest) -> Iterable[str]:
        return ()  # uploads are not GETs: nothing for the undocumented-headers check to look at

    def capture(self, context: CaptureContext) -> list[CapturedUpload]:
        search = UploadLimitSearch(context)
        names: set[str] = set()
        found = (search.limit(path, unique_upload_name(path, names)) for path in context.request.uploads)
        return [upload for upload in found if upload is not None]

    def write_entry(self, out: ManifestWriter, upload: CapturedUpload) -> None:
        out.table("upload", many=True)
        out.key("name", upload.name)
        out.key("path", upload.path)
        out.key("max_bytes", upload.max_bytes, format_size(upload.max_bytes))
        out.key("over_limit_status", upload.over_limit_status, "the answer to one byte more")
        if upload.skip:
            out.key("skip", upload.skip)
        out.people()

    def summary(self, items: Sequence[CapturedUpload] | None) -> str | None:
        from ..captured import counted

        return counted(len(items or ()), "upload limit")

    def summary_notes(self, items: Sequence[CapturedUpload] | None) -> list[SummaryNote]:
        from ..captured import SummaryNote

        return [SummaryNote(f"upload {upload.name}: {upload.skip}", "waived") for upload in items or () if upload.skip]


@hookimpl
def pytest_prod_defaults_kinds() -> list[UploadKind]:
    return [UploadKind()]
