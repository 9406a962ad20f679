"""What is never shown: credentials, whatever their type, in any output.

One rule, used by every output of the plugin and of ``prod-defaults``:

- **What is a credential** (:func:`is_credential`): a value of a secret type
  (``SecretStr``, ``SecretBytes``, anything with ``get_secret_value``); a
  text whose name says so (:func:`secret_name`: ``DATABASE_PASSWORD``,
  ``sentry_dsn``, ``x-api-key``, ``session``; not ``author``, not
  ``cookie_name``); or a text that carries one by its shape
  (:func:`mask_shapes`: the password of ``scheme://user:password@host``, the
  token of ``Bearer <token>`` or ``Basic <b64>``, a JWT, a private key
  block, a quoted value under a credential's name: ``"password": "..."``).
- **Every value known to be secret is hidden in all its escaped forms**
  (:func:`escaped_forms`: as written, as ``repr``, JSON, XML/HTML and a
  Markdown cell write it): :class:`Redactor` replaces them in any text
  before it is shown, and masks credential shapes it was never told about.

The manifest's ``[target].headers`` and ``base_url`` may carry credentials,
usually as ``${VAR}`` read from CI's secrets: a value read from the
environment becomes the ``${VAR}`` it came from, any other credential
``<redacted>``. The target adds what it learns (cookie values it is sent),
and the check kinds what they know (the config object's secrets), lazily:
the first text to redact asks them.

Nothing here knows pytest.
"""

from __future__ import annotations

import enum
import html
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
"""Headers whose values are credentials: never shown, logged or repr'd."""
REDACTED = "<redacted>"
MIN_SECRET_LENGTH = 4
"""Shorter values are left as they are: replacing ``1`` would garble every
message with a digit in it, and so short a value guards nothing."""
MIN_COOKIE_LENGTH = 8
"""A cookie value shorter than this (``lang=en``, ``deleted``) is taken for
a preference, not a credential: hiding it would garble ordinary text."""

# -- what is a credential, by name ----------------------------------------------

SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "credential", "apikey", "privatekey", "accesstoken")
"""Found anywhere in a part of a name: ``DATABASE_PASSWORD``, ``clientSecret``."""
SECRET_PARTS = frozenset({"token", "tokens", "pwd", "dsn", "signature", "sessionid", "sid", "authorization"})
"""Secret as a whole part of a name: ``sentry_dsn``, ``x-auth-token``."""
SECRET_LAST_PARTS = frozenset({"auth", "session", "cookie"})
"""Secret as the last part only: ``basic_auth``, ``x-session``, but not
``auth_backend`` or ``session_max_age``."""
KEY_QUALIFIERS = frozenset(
    {"api", "private", "signing", "sign", "secret", "access", "encryption", "master", "hmac", "jwt", "client"}
    | {"webhook", "session", "auth", "license", "fernet", "crypt", "x"}
)
"""``<qualifier>_key`` is a credential (``x-api-key``, ``signing_key``);
``cache_key`` or ``idempotency-key`` is not."""
NOT_THE_VALUE = frozenset(
    {"name", "names", "header", "headers", "ttl", "age", "timeout", "expiry", "expires", "expire", "lifetime"}
    | {"length", "path", "file", "dir", "domain", "url", "uri", "endpoint", "host", "algorithm", "alg", "enabled"}
    | {"secure", "samesite", "httponly", "type", "backend", "scheme", "prefix", "limit", "size", "count", "policy"}
    | {"seconds", "minutes", "hours", "days", "interval", "format", "field", "param", "location", "mode"}
)
"""A last part that names something about the credential, not the
credential: ``session_cookie_name``, ``token_url``, ``secret_key_file``."""
PUBLIC_NAMES = frozenset({"www-authenticate", "proxy-authenticate"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PART_SEPARATOR = re.compile(r"[^a-z0-9]+")


def name_parts(name: str) -> list[str]:
    """``X-Api-Key`` → ``["x", "api", "key"]``; ``clientSecret`` →
    ``["client", "secret"]``."""
    return [part for part in _PART_SEPARATOR.split(_CAMEL.sub("_", name).lower()) if part]


def secret_name(name: str | None) -> bool:
    """Whether a field, option, header or cookie called ``name`` holds a
    credential."""
    if not name:
        return False
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        return True
    if lowered in PUBLIC_NAMES or lowered.startswith("access-control-"):
        return False  # CORS headers name credentials, they never carry one
    parts = name_parts(name)
    if not parts or parts[-1] in NOT_THE_VALUE:
        return False
    if any(word in part for part in parts for word in SECRET_WORDS):
        return True
    if any(part in SECRET_PARTS for part in parts) or parts[-1] in SECRET_LAST_PARTS:
        return True
    if len(parts) > 1 and parts[-1] == "id" and parts[-2] == "session":
        return True
    return parts[-1] in ("key", "keys") and len(parts) > 1 and parts[-2] in KEY_QUALIFIERS


# -- what is a credential, by type and by value ----------------------------------------


def is_secret_type(value: object) -> bool:
    """``SecretStr``, ``SecretBytes``, ``Secret[...]``, or anything else that
    hides its value behind ``get_secret_value()``."""
    return callable(getattr(value, "get_secret_value", None))


def _fields(value: object) -> Mapping[str, Any] | None:
    """The named parts of a model or mapping, else ``None``."""
    model_fields = getattr(type(value), "model_fields", None)
    if isinstance(model_fields, Mapping) and not isinstance(value, type):
        return {name: getattr(value, name, None) for name in model_fields}
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    return None


def _text(value: object) -> str | None:
    """The text a plain value is shown as, or ``None`` for what holds no
    credential of its own (numbers, flags, None)."""
    if value is None or isinstance(value, (bool, int, float)):
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    if isinstance(value, enum.Enum):
        return _text(value.value)
    if isinstance(value, type) or callable(value):
        return None  # code is shown by its dotted path
    try:
        return str(value)  # URLs, DSNs, paths
    except Exception:
        return None


def is_credential(name: str | None, value: object) -> bool:
    """Whether ``value`` (of a field, option or header called ``name``) is,
    or holds anywhere inside it, a credential: by type, name or shape."""
    if is_secret_type(value):
        return True
    fields = _fields(value)
    if fields is not None:
        return any(is_credential(key, item) for key, item in fields.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(is_credential(name, item) for item in value)
    text = _text(value)
    if not text:
        return False
    return secret_name(name) or has_credential_shape(text)


def credential_values(name: str | None, value: object) -> Iterator[str]:
    """The secret texts inside ``value``, to be hidden wherever they show:
    a secret's value, a secret-named text whole, the password of a URL."""
    if is_secret_type(value):
        secret = value.get_secret_value()  # type: ignore[attr-defined]
        if isinstance(secret, (bytes, bytearray)):
            secret = bytes(secret).decode("utf-8", "replace")
        if isinstance(secret, str):
            yield secret
        else:
            yield from credential_values(name, secret)
        return
    fields = _fields(value)
    if fields is not None:
        for key, item in fields.items():
            yield from credential_values(key, item)
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from credential_values(name, item)
        return
    text = _text(value)
    if not text:
        return
    if secret_name(name):
        yield text
    for found in _SHAPE.finditer(text):
        yield from (group for group in found.groups() if group)


# -- credentials by their shape ---------------------------------------------------------

_SHAPE = re.compile(
    # the password of scheme://user:password@host
    r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@\"'<>]*:([^\s@/\"'<>]+)@"
    # the token of an Authorization value; not ``Basic realm="x"``
    r"|\b(?:Bearer|Basic|Token)\s+([A-Za-z0-9\-._~+/]{8,}=*)(?![A-Za-z0-9\-._~+/=\"])"
    # a JSON Web Token
    r"|\b(eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+)"
    # a private key in PEM
    r"|(-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)"
)


_NAMED_VALUE = re.compile(
    # "password": "..." (JSON), 'password': '...' (a repr'd dict), token = "..." (a report's)
    r"(?P<q>[\"'])(?P<name>[A-Za-z0-9_.\-]+)(?P=q)\s*:\s*(?P<v>[\"'])(?P<value>[^\"'\\\n]{4,})(?P=v)"
    r"|\b(?P<bare>[A-Za-z0-9_.\-]+) = \"(?P<bare_value>[^\"\\\n]{4,})\""
)
_PLACEHOLDERS = ("${", REDACTED, "**********")


def _mask_named_value(found: re.Match[str]) -> str:
    """A quoted value under a credential's name, hidden; one already shown
    as a placeholder (``${TOKEN}``) kept, as it says more."""
    name, value = (found.group("name"), "value") if found.group("name") else (found.group("bare"), "bare_value")
    shown = found.group(value)
    if not secret_name(name) or any(placeholder in shown for placeholder in _PLACEHOLDERS):
        return found.group(0)
    start = found.start()
    whole = found.group(0)
    return whole[: found.start(value) - start] + REDACTED + whole[found.end(value) - start :]


def has_credential_shape(text: str) -> bool:
    return _SHAPE.search(text) is not None


def mask_shapes(text: str) -> str:
    """``text`` with every credential recognised by its shape hidden: the
    password of a URL, the token after ``Bearer``, a JWT, a private key, a
    quoted value under a credential's name (``"password": "..."``)."""

    def hide(found: re.Match[str]) -> str:
        whole, start = found.group(0), found.start()
        index = next(i for i in range(1, found.re.groups + 1) if found.group(i) is not None)
        return whole[: found.start(index) - start] + REDACTED + whole[found.end(index) - start :]

    return _NAMED_VALUE.sub(_mask_named_value, _SHAPE.sub(hide, text))


MARKDOWN_SPECIAL = frozenset("\\`*_[]<>|~&")


def markdown_literal(text: str) -> str:
    """``text`` shown literally in Markdown (a report's table cell)."""
    return "".join(f"\\{char}" if char in MARKDOWN_SPECIAL else char for char in text)


def escaped_forms(value: str) -> list[str]:
    """``value`` as each output may write it: as is, in ``repr``'s escaping
    (either quote), JSON's, XML/HTML's, a Markdown table cell's."""
    backslashed = value.replace("\\", "\\\\")
    python = {
        value,
        repr(value)[1:-1],
        backslashed,
        backslashed.replace('"', '\\"'),
        backslashed.replace("'", "\\'"),
        backslashed.replace('"', '\\"').replace("'", "\\'"),
    }
    forms = set(python)
    for text in python:
        forms.add(json.dumps(text)[1:-1])
        forms.add(json.dumps(text, ensure_ascii=False)[1:-1])
        xml = html.escape(text, quote=False)
        forms.update({xml, xml.replace('"', "&quot;"), html.escape(text)})
        forms.update({html.escape(text).replace("&#x27;", quote) for quote in ("'", "&apos;", "&#39;")})
    forms.add(markdown_literal(value))
    return sorted(forms, key=len, reverse=True)


# -- hiding them -------------------------------------------------------------------------


class NotYet(Exception):
    """Raised by a secrets source that cannot answer now (the app is being
    imported): it is asked again next time."""


SecretsSource = Callable[[], Iterable[str]]


class _Group:
    """Values to replace, each by what is shown instead, in every escaped form."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.shown: dict[str, str] = {}
        self.values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value, shown in (values or {}).items():
            self.add(value, shown)

    def add(self, value: str, shown: str) -> bool:
        if len(value) < MIN_SECRET_LENGTH or value in self.values:
            return False
        self.values.add(value)
        for form in escaped_forms(value):
            self.shown.setdefault(form, shown)
        return True

    def __call__(self, text: str) -> str:
        if not self.shown:
            return text
        pattern = self._pattern
        if pattern is None or pattern.groups != len(self.shown):
            # Longest first: a token is replaced whole even where a shorter
            # secret is part of it. (``list`` copies at once: another thread
            # may be adding a cookie value meanwhile.)
            forms = sorted(list(self.shown), key=len, reverse=True)
            pattern = self._pattern = re.compile("|".join(f"({re.escape(form)})" for form in forms))
        return pattern.sub(lambda found: self.shown[found.group(0)], text)


class Redactor:
    """Hides credentials in text: each group of known values in turn, then
    the values registered or asked of a source, then credential shapes."""

    def __init__(self, *groups: Mapping[str, str]) -> None:
        self._groups = [_Group(group) for group in groups]
        self._learned = _Group()
        self._sources: list[SecretsSource] = []
        self._lock = threading.RLock()
        self._asking = False
        self._asker: threading.Thread = threading.main_thread()
        """The thread sources are asked on: the one that imports the app."""

    @classmethod
    def for_target(cls, headers: Mapping[str, str], environment: Mapping[str, str] | None = None) -> Redactor:
        """The secrets of a target: each value read from the environment
        (``environment`` maps it to the ``${VAR}`` it came from, which is
        shown in its place), then the values of its credential headers,
        whole and their last word (the token of ``Bearer <token>``)."""
        credentials: dict[str, str] = {}
        for name, value in headers.items():
            if secret_name(name):
                for secret in (value.strip(), *value.split()[-1:]):
                    credentials[secret] = REDACTED
        # The environment first: ``Bearer ${TOKEN}`` says more than
        # ``<redacted>``, and what is left of the header is the manifest's own text.
        return cls(environment or {}, credentials)

    def add(self, secrets: Iterable[str], min_length: int = MIN_SECRET_LENGTH) -> None:
        """Hide ``secrets`` too from now on (each of at least ``min_length``
        characters)."""
        with self._lock:
            for secret in secrets:
                if len(secret) >= min_length:
                    self._learned.add(secret, REDACTED)

    def add_source(self, source: SecretsSource) -> None:
        """``source()`` is asked for secrets when the first text is
        redacted (once; again later if it raised :class:`NotYet`)."""
        with self._lock:
            self._sources.append(source)

    def ask_on_this_thread(self) -> None:
        """Sources are asked on the calling thread from now on: the one the
        checks run on, which imports the app. The main thread unless said
        otherwise; an xdist worker may run its tests on another."""
        self._asker = threading.current_thread()

    def ask_sources(self) -> None:
        """Ask the sources now (the target does once the app is imported,
        before it starts and logs). Only on the thread that imports the app
        (:meth:`ask_on_this_thread`): a source may import the app's modules,
        which some apps allow only on the main thread (``signal.signal``),
        and the app's own threads (its loop, uvicorn's) must not import
        them; guarded, as a source importing the app may log and the log
        filter redacts."""
        if not self._sources or threading.current_thread() is not self._asker:
            return
        if not self._lock.acquire(timeout=10):
            return
        if self._asking:  # asked again from within a source: the outer asking goes on
            self._lock.release()
            return
        try:
            self._asking = True
            waiting, self._sources = self._sources, []
            for source in waiting:
                try:
                    found = list(source())
                except NotYet:
                    self._sources.append(source)
                except Exception:  # a source that fails (an import error) knows nothing to hide
                    continue
                else:
                    self.add(found)
        finally:
            self._asking = False
            self._lock.release()

    def __bool__(self) -> bool:
        return True  # credential shapes are hidden whatever is known

    def __call__(self, text: str) -> str:
        if not text:
            return text
        self.ask_sources()
        for group in (*self._groups, self._learned):
            text = group(text)
        return mask_shapes(text)

    def __repr__(self) -> str:
        # Shown by pytest's --showlocals: never the values.
        count = sum(len(group.values) for group in (*self._groups, self._learned))
        return f"<Redactor of {count} values>"
