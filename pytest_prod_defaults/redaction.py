"""What is never shown: the credentials a probe sends and the values the
manifest read from the environment.

The manifest's ``[target].headers`` and ``base_url`` may carry credentials,
usually as ``${VAR}`` read from CI's secrets. The plugin sends them, so the
app may echo them in a response, an error or its own log lines, and pytest
would print them with a failure. :class:`Redactor` replaces each of those
values in any text before it is shown: a value read from the environment
becomes the ``${VAR}`` it came from, any other credential ``<redacted>``.

Nothing here knows pytest.
"""

from __future__ import annotations

from collections.abc import Mapping

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
"""Headers whose values are credentials: never shown, logged or repr'd."""
REDACTED = "<redacted>"
MIN_SECRET_LENGTH = 4
"""Shorter values are left as they are: replacing ``1`` would garble every
message with a digit in it, and so short a value guards nothing."""


class Redactor:
    """Replaces known secret values in text. Each group of replacements
    applies in turn, longest value first (a token is replaced whole even
    where a shorter secret is part of it)."""

    def __init__(self, *groups: Mapping[str, str]) -> None:
        self._replacements = [
            pair
            for group in groups
            for pair in sorted(group.items(), key=lambda pair: len(pair[0]), reverse=True)
            if len(pair[0]) >= MIN_SECRET_LENGTH
        ]

    @classmethod
    def for_target(cls, headers: Mapping[str, str], environment: Mapping[str, str] | None = None) -> Redactor:
        """The secrets of a target: each value read from the environment
        (``environment`` maps it to the ``${VAR}`` it came from, which is
        shown in its place), then the values of its credential headers,
        whole and their last word (the token of ``Bearer <token>``)."""
        credentials: dict[str, str] = {}
        for name, value in headers.items():
            if name.lower() in SECRET_HEADERS:
                for secret in (value.strip(), *value.split()[-1:]):
                    credentials[secret] = REDACTED
        # The environment first: ``Bearer ${TOKEN}`` says more than
        # ``<redacted>``, and what is left of the header is the manifest's own text.
        return cls(environment or {}, credentials)

    def __bool__(self) -> bool:
        return bool(self._replacements)

    def __call__(self, text: str) -> str:
        for value, shown in self._replacements:
            if value in text:
                text = text.replace(value, shown)
        return text

    def __repr__(self) -> str:
        # Shown by pytest's --showlocals: never the values.
        return f"<Redactor of {len(self._replacements)} values>"
