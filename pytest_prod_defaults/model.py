"""The manifest's shared models: the people-facing fields every entry carries,
``[service]`` and ``[target]``. Each check kind defines its own entry model
(subclassing :class:`Entry`) in its own module."""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema

from .sizes import parse_size


def _leading_slash(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"a path starts with '/' (got {path!r})")
    return path


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


def _http_method(method: object) -> str:
    if not isinstance(method, str) or not re.fullmatch(r"[A-Za-z]+", method):
        raise ValueError(f"{method!r} is not an HTTP method")
    return method.upper()


HttpMethod = Annotated[str, BeforeValidator(_http_method)]
"""An HTTP method, any case: ``"post"`` is ``POST``."""
UrlPath = Annotated[str, AfterValidator(_leading_slash)]
"""A request path (with optional query string) starting with ``/``."""
ByteSize = Annotated[
    int,
    BeforeValidator(parse_size),
    # The JSON Schema (for editors) says what the manifest accepts, not the int it becomes.
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {
                    "type": "string",
                    "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*(([KkMmGg][Ii]?)?[Bb]|[Bb][Yy][Tt][Ee][Ss]?)?\s*$",
                },
            ],
            "description": "bytes: an integer, or a string with a unit (B, KB, MB, GB, KiB, MiB, GiB)",
        }
    ),
]
"""Bytes, written as an integer or as a string with a unit (``"1 MiB"``)."""
HttpStatus = Annotated[int, Field(ge=100, le=599)]
Regex = Annotated[str, AfterValidator(_compiles)]
Policy = Literal["fail", "warn", "off"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, defer_build=True)


class Documentation(Strict):
    """The people-facing fields: why a default exists, who owns it, how to
    roll it back, and a waiver. Every entry carries them; so does one
    setting written in its table form."""

    why: str | None = None
    owner: str | None = None
    rollback: str | None = None
    docs: str | None = None
    skip: str | None = None
    until: datetime.date | None = None

    @model_validator(mode="after")
    def _until_needs_skip(self) -> Documentation:
        if self.until is not None and self.skip is None:
            raise ValueError("'until' dates a waiver: give 'skip' a reason too")
        return self


class Entry(Documentation):
    """Fields every manifest entry carries: it is documentation first."""

    name: str | None = None

    _line: int | None = PrivateAttr(default=None)
    _source: str | None = PrivateAttr(default=None)
    _inherited: str | None = PrivateAttr(default=None)

    # Read straight from pydantic's private store: ``self._line`` goes
    # through BaseModel.__getattr__, a cost every item paid several times.
    @property
    def line(self) -> int | None:
        """1-based line of this entry in its manifest."""
        return self.__pydantic_private__["_line"]  # type: ignore[index,no-any-return]

    @property
    def inherited(self) -> str | None:
        """``file:line`` of the base manifest this entry comes from (through
        ``extends``), or ``None`` for an entry of the manifest itself."""
        return self.__pydantic_private__["_inherited"]  # type: ignore[index,no-any-return]

    @property
    def source(self) -> str | None:
        """Path of the manifest file that defines this entry."""
        return self.__pydantic_private__["_source"]  # type: ignore[index,no-any-return]

    def display_name(self) -> str:
        """The entry's ``name``, or the kind's sensible default."""
        return self.name or self.default_name()

    def default_name(self) -> str:
        return "default"


DOCUMENTATION_FIELDS = tuple(Documentation.model_fields)
"""why, owner, rollback, docs, skip, until."""
ENTRY_PEOPLE_FIELDS = ("name", *DOCUMENTATION_FIELDS)
"""The keys of an entry that document it rather than what it checks."""


class Profile(Strict):
    """Describes a bundled or shared baseline: what it follows, and as of when."""

    name: str
    title: str | None = None
    source: str | None = None
    date: datetime.date | None = None
    notes: str | None = None


class Service(Strict):
    name: str | None = None
    owner: str | None = None
    docs: str | None = None


APP_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(\))?$")


def _app_reference(value: str) -> str:
    if not APP_REFERENCE.match(value):
        raise ValueError(f"{value!r} is not 'module:attribute' or 'module:factory()'")
    return value


AppReference = Annotated[str, AfterValidator(_app_reference)]


class Target(Strict):
    app: AppReference | None = None
    app_dir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    mode: Literal["asgi", "server", "url"] = "asgi"
    base_url: str | None = None
    host: str | None = None
    # Not in repr: values are often credentials, and --showlocals prints reprs.
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    paths: list[UrlPath] = Field(default_factory=lambda: ["/"])
    timeout: float = Field(default=5.0, gt=0, allow_inf_nan=False)  # inf would wait forever
    startup_timeout: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    """Seconds the app's startup (its lifespan, uvicorn's start) may take."""
    lifespan: Literal["auto", "on", "off"] = "auto"
    uvicorn: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _mode_has_what_it_needs(self) -> Target:
        if self.mode in ("asgi", "server") and not self.app:
            raise ValueError(f"mode = {self.mode!r} needs 'app = \"module:attribute\"'")
        if self.mode == "url" and not self.base_url:
            raise ValueError("mode = 'url' needs 'base_url' (or --defaults-url)")
        if self.base_url is not None and not re.match(r"^https?://[^/\s]+", self.base_url):
            raise ValueError(f"base_url {self.base_url!r} is not an http(s):// URL")
        return self
