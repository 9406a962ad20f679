"""The manifest's shared models: the people-facing fields every entry carries,
``[service]`` and ``[target]``. Each check kind defines its own entry model
(subclassing :class:`Entry`) in its own module."""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Any, Literal, Protocol

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
from .toml_positions import KeyPath


def _leading_slash(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"a path starts with '/' (got {path!r})")
    if fault := _unsendable(path):
        raise ValueError(f"{path!r} cannot be sent as a request path: it has {fault}; write it percent-encoded (%20)")
    return path


def _unsendable(text: str) -> str | None:
    """What keeps ``text`` from going on a request line or in a Host header
    as it is: a space, a control character, a non-ASCII character."""
    for character in text:
        if character == " ":
            return "a space"
        if ord(character) < 0x20 or ord(character) == 0x7F:
            return "a control character"
        if ord(character) > 0x7E:
            return f"the non-ASCII character {character!r}"
    return None


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def is_header_name(name: str) -> bool:
    """A header name as HTTP allows it: a token."""
    return _TOKEN.fullmatch(name) is not None


def _header_name(name: str) -> str:
    if not is_header_name(name):
        raise ValueError(f"{name!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)")
    return name


_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")


def _host(host: str) -> str:
    if not _HOST.fullmatch(host):
        raise ValueError(
            f"{host!r} is not a host for the Host header: a name or address, and an optional :port"
            " (a non-ASCII name is written in its xn-- form)"
        )
    return host


def _environment(env: dict[str, str]) -> dict[str, str]:
    for name, value in env.items():
        if not name or "=" in name or "\0" in name:
            raise ValueError(f"{name!r} is not an environment variable name (not empty, no '=' and no NUL)")
        if "\0" in value:
            raise ValueError(f"the value of {name} has a NUL character, which no environment variable can hold")
    return env


def _folder(path: str) -> str:
    if not path or "\0" in path:
        raise ValueError(f"{path!r} is not a folder path")
    return path


def _compiles(pattern: str) -> str:
    # Compiled by the engine that matches it (``regex``, which can be bounded
    # in time); its default syntax is the standard library's.
    import regex

    try:
        regex.compile(pattern)
    except (regex.error, re.error) as exc:
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
HeaderName = Annotated[str, AfterValidator(_header_name)]
"""A header name as HTTP allows it: a token."""
Seconds = Annotated[float, Field(gt=0, le=86400)]
"""A wait in seconds: positive, finite, at most a day."""
Regex = Annotated[str, AfterValidator(_compiles)]
Policy = Literal["fail", "warn", "off"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, defer_build=True)


class Documentation(Strict):
    """The people-facing fields: why a default exists, who owns it, how to
    roll it back, and a waiver. Every entry carries them; so does one
    setting written in its table form."""

    why: str | None = Field(default=None, description="why this default exists")
    owner: str | None = Field(default=None, description="who decides it; falls back to `[service].owner`")
    rollback: str | None = Field(default=None, description="how to undo a change to it, in one or two sentences")
    docs: str | None = Field(default=None, description="a link")
    skip: str | None = Field(
        default=None, description="a reason (a waiver): the entry is reported as skipped with it, not run"
    )
    until: datetime.date | None = Field(
        default=None,
        description="with `skip`: the waiver's expiry date; after it the entry runs again, and a failure says"
        " the waiver has expired",
    )

    @model_validator(mode="after")
    def _until_needs_skip(self) -> Documentation:
        if self.until is not None and self.skip is None:
            raise ValueError("'until' dates a waiver: give 'skip' a reason too")
        return self


class KeyLocator(Protocol):
    """Where the keys of a loaded manifest are written
    (:class:`~pytest_prod_defaults.extends.Locator`)."""

    def locate(self, path: KeyPath) -> tuple[str, int | None]:
        """The file that writes ``path`` and its line there."""
        ...

    def file_of(self, path: KeyPath) -> str:
        """The file that writes ``path``."""
        ...

    def inherited_from(self, path: KeyPath) -> str | None:
        """``file:line`` of the base an entry was inherited from."""
        ...


class Entry(Documentation):
    """Fields every manifest entry carries: it is documentation first."""

    name: str | None = Field(
        default=None,
        description="short human name, in the item's id and its failures; each kind has a sensible default"
        " (the path, the middleware's class)",
    )

    _line: int | None = PrivateAttr(default=None)
    _source: str | None = PrivateAttr(default=None)
    _inherited: str | None = PrivateAttr(default=None)
    # Where the entry is written (the manifest's locator, the entry's key
    # path), kept so that its line and the base it comes from are looked up
    # only when a report or a message needs them. One attribute: pydantic
    # sets every private default on every entry it builds.
    _written_at: tuple[KeyLocator, KeyPath] | None = PrivateAttr(default=None)

    def written_at(self, locator: KeyLocator | None, key: KeyPath) -> None:
        """Say where this entry is written: ``key`` of the manifest that
        ``locator`` knows. Nothing is looked up until asked."""
        self.__pydantic_private__["_written_at"] = (locator, key) if locator is not None else None  # type: ignore[index]

    # Read straight from pydantic's private store: ``self._line`` goes
    # through BaseModel.__getattr__, a cost every item paid several times.
    @property
    def line(self) -> int | None:
        """1-based line of this entry in its manifest (found on first use)."""
        private = self.__pydantic_private__
        line: int | None = private["_line"]  # type: ignore[index]
        if line is None and (written := private["_written_at"]) is not None:  # type: ignore[index]
            line = private["_line"] = written[0].locate(written[1])[1]  # type: ignore[index]
        return line

    @property
    def inherited(self) -> str | None:
        """``file:line`` of the base manifest this entry comes from (through
        ``extends``), or ``None`` for an entry of the manifest itself."""
        private = self.__pydantic_private__
        inherited: str | None = private["_inherited"]  # type: ignore[index]
        if inherited is None and (written := private["_written_at"]) is not None:  # type: ignore[index]
            inherited = private["_inherited"] = written[0].inherited_from(written[1])  # type: ignore[index]
        return inherited

    def line_at(self, key: KeyPath) -> int | None:
        """The line of another key of the manifest this entry was loaded
        from (``("settings", "debug")``), found now."""
        written: tuple[KeyLocator, KeyPath] | None = self.__pydantic_private__["_written_at"]  # type: ignore[index]
        return written[0].locate(key)[1] if written is not None else None

    @property
    def source(self) -> str | None:
        """Path of the manifest file that defines this entry."""
        private = self.__pydantic_private__
        source: str | None = private["_source"]  # type: ignore[index]
        if source is None and (written := private["_written_at"]) is not None:  # type: ignore[index]
            source = private["_source"] = written[0].file_of(written[1])  # type: ignore[index]
        return source

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
    """A bundled or shared baseline (a file others extend): what it follows, and as of when."""

    name: str = Field(description="the baseline's short name (a bundled profile's is the NAME of `profile:NAME`)")
    title: str | None = Field(default=None, description="what the baseline holds, in one line")
    source: str | None = Field(default=None, description="a link to the document the baseline follows")
    date: datetime.date | None = Field(default=None, description="the date of that document: as of when it is followed")
    notes: str | None = Field(default=None, description="what a reader should know about how it follows its source")


class Service(Strict):
    """The service the manifest documents."""

    name: str | None = Field(default=None, description="the service's name, in reports and `prod-defaults docs`")
    owner: str | None = Field(
        default=None, description="who owns the service: the owner of every entry that names none"
    )
    docs: str | None = Field(default=None, description="a link about the service, in `prod-defaults docs`")


APP_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(\))?$")


def _app_reference(value: str) -> str:
    if not APP_REFERENCE.match(value):
        raise ValueError(f"{value!r} is not 'module:attribute' or 'module:factory()'")
    return value


AppReference = Annotated[str, AfterValidator(_app_reference)]


class Target(Strict):
    """What is checked and how it is reached: the app, the mode, what every request carries."""

    app: AppReference | None = Field(
        default=None,
        description='the application: "module:attribute", or "module:factory()" to call a factory;'
        " needed in modes asgi and server, and in url mode for settings, middleware and config",
    )
    app_dir: Annotated[str, AfterValidator(_folder)] | None = Field(
        default=None, description="the folder the app is imported from (default: the manifest's folder)"
    )
    env: Annotated[dict[str, str], AfterValidator(_environment)] = Field(
        default_factory=dict, description="environment variables set before the app is imported, restored afterwards"
    )
    mode: Literal["asgi", "server", "url"] = Field(
        default="asgi",
        description="asgi: the app in-process; server: the app under uvicorn on 127.0.0.1;"
        " url: a deployed service at `base_url` (`--defaults-mode` and `--defaults-url` override it)",
    )
    base_url: str | None = Field(default=None, description="mode url: the deployed service's http(s):// address")
    host: Annotated[str, AfterValidator(_host)] | None = Field(
        default=None, description="the Host header sent with every request (for TrustedHostMiddleware)"
    )
    # Not in repr: values are often credentials, and --showlocals prints reprs.
    headers: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description="headers sent with every request; `${VAR}` reads the environment, and no value is ever shown",
    )
    paths: list[UrlPath] = Field(
        default_factory=lambda: ["/"],
        description="probed for `[[header]]` entries without `paths`, and for undocumented headers",
    )
    timeout: Seconds = Field(  # inf would wait forever
        default=5.0, description="seconds a request may take (for uploads: each wait for the service)"
    )
    startup_timeout: Seconds = Field(
        default=30.0, description="seconds the app's startup (its lifespan, uvicorn's start) may take"
    )
    lifespan: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="run the app's lifespan (startup and shutdown): auto runs it when the app supports it,"
        " on requires it, off never runs it",
    )
    uvicorn: dict[str, Any] = Field(
        default_factory=dict,
        description="mode server: uvicorn's keyword arguments, as production runs it"
        " (`server_header = false`, `proxy_headers = true`); an unknown one names the closest",
    )

    @model_validator(mode="after")
    def _mode_has_what_it_needs(self) -> Target:
        if self.mode in ("asgi", "server") and not self.app:
            raise ValueError(f"mode = {self.mode!r} needs 'app = \"module:attribute\"'")
        if self.mode == "url" and not self.base_url:
            raise ValueError("mode = 'url' needs 'base_url' (or --defaults-url)")
        if self.base_url is not None and not re.match(r"^https?://[^/\s]+", self.base_url):
            raise ValueError(f"base_url {self.base_url!r} is not an http(s):// URL")
        return self
