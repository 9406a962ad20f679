"""``[[upload]]``: a body of exactly ``max_bytes`` is not answered with
``over_limit_status``; ``max_bytes + 1`` is, with Content-Length and streamed
without it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings
from collections.abc import Iterator

import pytest
from conftest import EARLY_ANSWER_APP, QUIET, Project

from pytest_prod_defaults.bodies import CHUNK_SIZE, GeneratedBody, multipart_overhead
from pytest_prod_defaults.kinds.upload import UploadEntry, UploadKind

# One app for most tests; [target].env picks how its limit behaves:
#   UPLOAD_LIMIT   bytes allowed
#   LIMIT_STYLE    streaming (correct) | content-length-only (the bypass) | off-by-one | none
#   REJECT_STATUS  what a rejection answers
# Every request is logged to requests.log as "<Content-Length or none>
# <http.request messages with bytes> <bytes>" as the limiter saw them.
LIMITED_APP = """
    import os
    from pathlib import Path

    from fastapi import FastAPI, Request, UploadFile
    from starlette.responses import PlainTextResponse

    LIMIT = int(os.environ["UPLOAD_LIMIT"])
    STYLE = os.environ.get("LIMIT_STYLE", "streaming")
    REJECT_STATUS = int(os.environ.get("REJECT_STATUS", "413"))
    LOG = Path("requests.log")


    class UploadLimit:
        \"\"\"Pure ASGI: counts the bytes of http.request messages and answers
        as soon as the count passes the limit.\"\"\"

        def __init__(self, app, max_bytes):
            self.app = app
            self.max_bytes = max_bytes

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http":
                return await self.app(scope, receive, send)
            declared = dict(scope["headers"]).get(b"content-length")
            seen = messages = 0
            rejected = False

            async def reject():
                nonlocal rejected
                rejected = True
                await PlainTextResponse("Content Too Large", REJECT_STATUS)(scope, receive, send)

            def too_large(size):
                return size >= self.max_bytes if STYLE == "off-by-one" else size > self.max_bytes

            async def counted_receive():
                nonlocal seen, messages
                if rejected:
                    return {"type": "http.disconnect"}
                message = await receive()
                if message.get("body"):
                    messages += 1
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if STYLE in ("streaming", "off-by-one") and too_large(seen):
                        await reject()
                        return {"type": "http.disconnect"}
                return message

            async def send_unless_rejected(message):
                if not rejected:
                    await send(message)

            try:
                if declared is not None and STYLE != "none" and too_large(int(declared)):
                    await reject()
                else:
                    await self.app(scope, counted_receive, send_unless_rejected)
            except Exception:
                if not rejected:
                    raise
            finally:
                if scope["method"] != "GET":
                    with LOG.open("a") as log:
                        length = declared.decode() if declared is not None else "none"
                        log.write(f"{length} {messages} {seen}\\n")


    app = FastAPI()
    app.add_middleware(UploadLimit, max_bytes=LIMIT)


    @app.post("/upload", status_code=201)
    async def upload(request: Request):
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
        return {"received": received}


    @app.post("/files", status_code=201)
    async def files(avatar: UploadFile):
        content = await avatar.read()
        with Path("files.log").open("a") as log:
            log.write(f"{avatar.filename} {avatar.content_type} {len(content)} {set(content)}\\n")
        return {"size": len(content)}
"""


AVATAR = """
[[upload]]
name = "avatar"
path = "/upload"
max_bytes = "64 KiB"
why = "avatars are thumbnails"
owner = "media-team"
"""

ITEMS = ("upload:avatar[at-limit]", "upload:avatar[over-limit]", "upload:avatar[over-limit-streamed]")


def manifest(entries: str, limit: int = 64 * 1024, style: str = "streaming", reject: int = 413, **target: str) -> str:
    extra = "\n".join(f"{key} = {value}" for key, value in target.items())
    return f"""
version = 1

[target]
app = "app:app"
env = {{ UPLOAD_LIMIT = "{limit}", LIMIT_STYLE = "{style}", REJECT_STATUS = "{reject}" }}
{extra}
{entries}
{QUIET}
"""


def messages(size: int) -> int:
    """How many messages a generated body of ``size`` bytes arrives in."""
    chunk = min(CHUNK_SIZE, max(1, (size + 1) // 2))
    return -(-size // chunk)


def logged(project: Project, name: str = "requests.log") -> list[str]:
    return (project.path / name).read_text().splitlines()


def test_a_streaming_limit_passes_all_three_probes(project: Project) -> None:
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR))
    result = project.run()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([f"PASSED defaults.toml::{item}" for item in ITEMS])
    # exactly the limit, then one byte more with and without Content-Length;
    # over the limit by Content-Length, nothing is read
    assert logged(project) == ["65536 2 65536", "65537 0 0", "none 2 65537"]


def test_the_streamed_probe_sends_no_content_length_and_several_messages(project: Project) -> None:
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR.replace('"64 KiB"', "1000"), limit=1000, style="none"))
    result = project.run()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "upload avatar over-limit: documented 413 for 1001 bytes, live 201 Created (1001 bytes with"
            " Content-Length was accepted; documented limit 1000 bytes → 413; the service read all of the body"
            " before answering)",
            "upload avatar over-limit-streamed: documented 413 for 1001 bytes, live 201 Created (1001 bytes streamed"
            " without Content-Length was accepted; documented limit 1000 bytes → 413; the service read all of the"
            " body before answering; a limit that checks only the Content-Length header misses chunked uploads)",
        ]
    )
    # no single message is over the limit: the limit must add them up
    assert logged(project) == ["1000 2 1000", "1001 2 1001", "none 2 1001"]


def test_a_limit_that_checks_only_content_length_is_bypassed_by_streaming(project: Project) -> None:
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR, style="content-length-only"))
    result = project.run()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::upload:avatar[at-limit]",
            "PASSED defaults.toml::upload:avatar[over-limit]",
            "FAILED defaults.toml::upload:avatar[[]over-limit-streamed[]]*",  # pytest 9 adds " - <message>"
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "upload avatar over-limit-streamed: documented 413 for 64 KiB + 1 byte, live 201 Created"
            " (64 KiB + 1 byte streamed without Content-Length was accepted; documented limit 64 KiB → 413;*"
            "misses chunked uploads)",
            "  why:      avatars are thumbnails",
            "  owner:    media-team",
            "  manifest: defaults.toml:9",
        ]
    )


def test_a_documented_over_limit_status_other_than_413(project: Project) -> None:
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR + "over_limit_status = 400\n", reject=400))
    project.run().assert_outcomes(passed=3)


def test_a_limit_lower_than_documented_fails_at_the_limit(project: Project) -> None:
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR, style="off-by-one"))
    result = project.run()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "upload avatar at-limit: documented 64 KiB allowed (not 413), live 413 * (a body of"
            " exactly the documented limit, 64 KiB with Content-Length, was rejected: the live limit is lower than"
            " 64 KiB, or counts off by one; the service read none of the body before answering)",
        ]
    )


def test_at_limit_fails_when_no_route_takes_the_upload(project: Project) -> None:
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR.replace('"/upload"', '"/nowhere"') + 'method = "put"\n', style="none"))
    result = project.run("-k", "at-limit")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "upload avatar at-limit: documented 64 KiB allowed (not 413), live 404 Not Found (PUT /nowhere reached"
            " no upload route: check path and method in the manifest)",
        ]
    )


@pytest.mark.parametrize(
    ("written", "size", "shown"),
    [
        ('"2 KiB"', 2048, "2 KiB + 1 byte"),
        ('"2KB"', 2000, "2001 bytes"),
        ('"1.5 kib"', 1536, "1537 bytes"),
    ],
)
def test_sizes_are_bytes_or_strings_with_a_unit(project: Project, written: str, size: int, shown: str) -> None:
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR.replace('"64 KiB"', written), limit=size, style="content-length-only"))
    result = project.run()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([f"upload avatar over-limit-streamed: documented 413 for {shown}, live 201 Created*"])
    assert logged(project) == [
        f"{size} {messages(size)} {size}",
        f"{size + 1} 0 0",
        f"none {messages(size + 1)} {size + 1}",
    ]


def test_multipart_bodies_count_the_framing_and_carry_one_file(project: Project) -> None:
    project.app(LIMITED_APP)
    project.manifest(
        manifest(
            '[[upload]]\nname = "photo"\npath = "/files"\nmax_bytes = "100 KiB"\nencoding = "multipart"\n'
            'field = "avatar"\ncontent_type = "image/png"\n',
            limit=100 * 1024,
        )
    )
    with upload_files_starlette_leaves_open():
        result = project.run()
    result.assert_outcomes(passed=3)
    # the limiter saw exactly the limit, then one byte more; the route got
    # the rest of the body as the file
    assert logged(project) == ["102400 2 102400", "102401 0 0", "none 2 102401"]
    file_size = 100 * 1024 - multipart_overhead("avatar", "image/png")
    assert logged(project, "files.log") == [f"upload.bin image/png {file_size} {{120}}"]


@contextlib.contextmanager
def upload_files_starlette_leaves_open() -> Iterator[None]:
    """Starlette 0.36 leaves the temporary file of a multipart body cut off
    by the limit (413) open for the garbage collector. That leak is the
    app's, not the probe's: its ResourceWarning is ignored, and the file
    collected before the end, so that it fails no later test."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Unclosed file <tempfile.SpooledTemporaryFile", ResourceWarning)
        yield
        gc.collect()


def test_answering_early_stops_the_upload(project: Project) -> None:
    # A documented limit of 1 GiB, and an app that answers before reading
    # (413 at once, or a streamed 200) and only then tries to drain the body:
    # the probe stops sending once answered, so 3 GiB are never generated.
    project.app(EARLY_ANSWER_APP)
    project.manifest(manifest(AVATAR.replace('"64 KiB"', '"1 GiB"'), lifespan='"off"'))
    result = project.run()
    result.assert_outcomes(passed=3)
    assert logged(project, "drained.log") == ["http.disconnect 0"] * 3


def test_a_service_that_stops_reading_is_unavailable_not_a_hang(project: Project) -> None:
    project.app(
        """
        import asyncio

        async def app(scope, receive, send):
            if scope["type"] == "http":
                await receive()
                await asyncio.sleep(30)
        """
    )
    project.manifest(manifest(AVATAR, timeout="0.3", lifespan='"off"'))
    result = project.run("-k", "over-limit-streamed")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "upload:avatar[[]over-limit-streamed[]]: target unavailable: POST /upload neither read more of the body"
            " nor answered within [[]target[]].timeout = 0.3 s",
        ]
    )


def test_response_bodies_are_never_printed(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse

        app = FastAPI()

        @app.post("/upload")
        async def upload(request: Request):
            body = await request.body()
            return JSONResponse({"detail": "invalid", "input": body.decode()}, status_code=422)
        """
    )
    project.manifest(manifest(AVATAR))
    result = project.run()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["upload avatar over-limit: documented 413 for 64 KiB + 1 byte, live 422 *"])
    assert "xxxxxxxx" not in result.stdout.str()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('max_bytes = "1 TB"', "unknown unit 'TB' in '1 TB'; use one of B, KB, MB, GB, KiB, MiB, GiB"),
        ("max_bytes = -1", "a size cannot be negative (got -1)"),
        ('max_bytes = "1.5 B"', "'1.5 B' is not a whole number of bytes"),
        ('max_bytes = "lots"', "'lots' is not a size; write e.g. 1048576 or '1 MiB'"),
        ("max_bytes = true", "a size is an integer number of bytes or a string like '1 MiB'"),
    ],
)
def test_invalid_sizes_are_manifest_errors(project: Project, line: str, message: str) -> None:
    project.manifest(manifest(f'[[upload]]\nname = "avatar"\npath = "/upload"\n{line}\n'))
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"defaults.toml:11: upload[[]1[]].max_bytes (avatar): {message}"])


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ('path = "/upload"', "defaults.toml:8: upload[[]1[]].max_bytes (avatar): required key is missing"),
        (
            'path = "/upload"\nmax_byte = 10',
            "defaults.toml:11: upload[[]1[]].max_byte (avatar): unknown key 'max_byte'; did you mean 'max_bytes'?",
        ),
        ('path = "upload"\nmax_bytes = 10', "defaults.toml:10: upload[[]1[]].path (avatar): a path starts with '/'*"),
        (
            'path = "/u"\nmax_bytes = 10\nmethod = "PO ST"',
            "defaults.toml:12: upload[[]1[]].method (avatar): 'PO ST' is not an HTTP method",
        ),
        (
            'path = "/u"\nmax_bytes = 10\nover_limit_status = 4130',
            "defaults.toml:12: upload[[]1[]].over_limit_status (avatar):*",
        ),
        (
            'path = "/u"\nmax_bytes = 10\nencoding = "base64"',
            "defaults.toml:12: upload[[]1[]].encoding (avatar):*'base64'*",
        ),
        (
            'path = "/u"\nmax_bytes = 10\nfield = "doc"',
            "defaults.toml:12: upload[[]1[]].field (avatar): 'field' names the"
            ' form field of a multipart upload; add encoding = "multipart"',
        ),
        (
            'path = "/u"\nencoding = "multipart"\nmax_bytes = 100',
            "defaults.toml:12: upload[[]1[]].max_bytes (avatar): 100"
            " bytes cannot hold a multipart body: its framing alone is 206 bytes (max_bytes counts the whole request"
            " body)",
        ),
        (
            'path = "/u"\nmax_bytes = 10\ncontent_type = "png"',
            "defaults.toml:12: upload[[]1[]].content_type (avatar): 'png' is not a media type like 'image/png'",
        ),
    ],
)
def test_invalid_upload_entries_are_manifest_errors(project: Project, lines: str, error: str) -> None:
    project.manifest(manifest(f'[[upload]]\nname = "avatar"\n{lines}\n'))
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines([error])


def test_uploads_probe_no_paths_and_document_no_headers() -> None:
    entry = UploadEntry.model_validate({"name": "avatar", "path": "/upload", "max_bytes": "1 MiB"})
    kind = UploadKind()
    assert list(kind.probed_paths(entry, None)) == []  # type: ignore[arg-type]
    assert list(kind.documented_headers(entry, None)) == []  # type: ignore[arg-type]
    assert [check.id for check in kind.checks(entry, None)] == list(ITEMS)  # type: ignore[arg-type]


async def collect(body: GeneratedBody) -> list[bytes]:
    return [chunk async for chunk in body.chunks()]


@pytest.mark.parametrize("size", [0, 1, 2, 999, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 7])
def test_raw_bodies_have_the_exact_size_in_several_small_chunks(size: int) -> None:
    body = GeneratedBody.raw(size)
    chunks = asyncio.run(collect(body))
    assert sum(map(len, chunks)) == body.read == size
    assert all(0 < len(chunk) <= min(CHUNK_SIZE, max(1, (size + 1) // 2)) for chunk in chunks)
    assert len(chunks) >= min(size, 2)


@pytest.mark.parametrize("extra", [0, 1, 2, 500, CHUNK_SIZE, 5 * CHUNK_SIZE + 3])
def test_multipart_bodies_frame_exactly_one_file(extra: int) -> None:
    framing = multipart_overhead("file", "text/plain")
    body = GeneratedBody.multipart(framing + extra, "file", "text/plain")
    content = b"".join(asyncio.run(collect(body)))
    assert len(content) == framing + extra
    assert body.content_type.startswith("multipart/form-data; boundary=")
    head, _, rest = content.partition(b"\r\n\r\n")
    assert b'name="file"; filename="upload.bin"' in head
    assert b"Content-Type: text/plain" in head
    assert rest == b"x" * extra + b"\r\n--" + body.content_type.split("boundary=")[1].encode() + b"--\r\n"


def test_a_large_body_reuses_one_block_of_filler() -> None:
    chunks = asyncio.run(collect(GeneratedBody.raw(64 * CHUNK_SIZE)))
    assert len(chunks) == 64
    assert all(chunk is chunks[0] for chunk in chunks)
