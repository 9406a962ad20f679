"""Request bodies of an exact size, generated chunk by chunk for upload probes.

A body is never held whole: it is produced as the service reads it, from one
block of filler reused for every full chunk, so probing a 1 GiB limit costs a
few kilobytes of memory. Nothing here knows pytest or the transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

CHUNK_SIZE = 64 * 1024
FILLER_BYTE = b"x"
MULTIPART_BOUNDARY = "pytest-prod-defaults-upload-probe-5f0c2a9e"
MULTIPART_FILENAME = "upload.bin"
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def multipart_framing(field_name: str, content_type: str) -> tuple[bytes, bytes]:
    """The bytes before and after the file content of a ``multipart/form-data``
    body with one file field."""
    head = (
        f"--{MULTIPART_BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="{field_name}"; filename="{MULTIPART_FILENAME}"\r\n'
        f"Content-Type: {content_type}\r\n"
        "\r\n"
    ).encode()
    tail = f"\r\n--{MULTIPART_BOUNDARY}--\r\n".encode()
    return head, tail


def multipart_overhead(field_name: str, content_type: str) -> int:
    """The smallest multipart body with this field: its framing alone."""
    head, tail = multipart_framing(field_name, content_type)
    return len(head) + len(tail)


@dataclass
class GeneratedBody:
    """A request body of exactly ``size`` bytes: ``head``, filler, ``tail``.

    ``chunks()`` yields it in pieces of at most ``CHUNK_SIZE`` bytes and never
    more than half the body at once, so even a small body reaches the service
    as several messages (a limit must add them up, not judge each one).
    ``read`` counts the bytes the service has pulled so far.
    """

    size: int
    content_type: str
    head: bytes = b""
    tail: bytes = b""
    read: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.size < len(self.head) + len(self.tail):
            raise ValueError(f"{self.size} bytes cannot hold {len(self.head) + len(self.tail)} bytes of framing")

    @classmethod
    def raw(cls, size: int, content_type: str = DEFAULT_CONTENT_TYPE) -> GeneratedBody:
        return cls(size, content_type)

    @classmethod
    def multipart(cls, size: int, field_name: str, content_type: str = DEFAULT_CONTENT_TYPE) -> GeneratedBody:
        """One file field whose content fills the body to exactly ``size``
        bytes, framing included."""
        head, tail = multipart_framing(field_name, content_type)
        return cls(size, f"multipart/form-data; boundary={MULTIPART_BOUNDARY}", head, tail)

    @property
    def chunk_size(self) -> int:
        return min(CHUNK_SIZE, max(1, (self.size + 1) // 2))

    async def chunks(self) -> AsyncIterator[bytes]:
        chunk_size = self.chunk_size
        filler = FILLER_BYTE * chunk_size
        filler_start = len(self.head)
        filler_end = self.size - len(self.tail)
        position = 0
        while position < self.size:
            end = min(position + chunk_size, self.size)
            if filler_start <= position and end <= filler_end:
                chunk = filler if end - position == chunk_size else filler[: end - position]
            else:
                chunk = self._framed_slice(position, end, filler_start, filler_end)
            position = end
            self.read += len(chunk)
            yield chunk

    def _framed_slice(self, start: int, end: int, filler_start: int, filler_end: int) -> bytes:
        """Bytes ``start:end`` of a body that crosses the head or the tail."""
        pieces = [
            self.head[start:end],
            FILLER_BYTE * max(0, min(end, filler_end) - max(start, filler_start)),
            self.tail[max(0, start - filler_end) : max(0, end - filler_end)],
        ]
        return b"".join(pieces)
