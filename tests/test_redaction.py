"""What is never shown: the target's credentials and the values the manifest
read from the environment (``pytest_prod_defaults.redaction``)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest
from pydantic import BaseModel, SecretStr

from pytest_prod_defaults.redaction import (
    REDACTED,
    NotYet,
    Redactor,
    credential_values,
    escaped_forms,
    is_credential,
    mask_shapes,
    secret_name,
)


def test_a_value_from_the_environment_shows_as_its_variable_and_a_credential_header_as_redacted() -> None:
    redact = Redactor.for_target(
        {"Authorization": "Bearer tok-from-env", "Cookie": "sid=literal-sid", "X-Trace": "not-a-secret"},
        {"tok-from-env": "${TOKEN}"},
    )
    assert redact("sent Bearer tok-from-env") == "sent Bearer ${TOKEN}"
    assert redact("cookie sid=literal-sid!") == f"cookie {REDACTED}!"
    assert redact("the token alone: tok-from-env") == "the token alone: ${TOKEN}"
    assert redact("X-Trace: not-a-secret") == "X-Trace: not-a-secret"  # neither a credential nor from the environment


def test_the_longest_value_is_replaced_first_and_short_values_never() -> None:
    redact = Redactor({"abcd": "${SHORT}", "xxabcdxx": "${LONG}", "abc": "${TINY}"})
    assert redact("xxabcdxx abcd abc") == "${LONG} ${SHORT} abc"
    assert repr(Redactor({"abc": "${TINY}"})) == "<Redactor of 0 values>"
    assert Redactor.for_target({"Authorization": "Bearer x"})  # the whole value is long enough


def test_its_repr_never_shows_a_value() -> None:
    redact = Redactor.for_target({"Authorization": "Bearer s3cret-token"}, {"s3cret-token": "${T}"})
    assert "s3cret" not in repr(redact)
    assert repr(redact) == "<Redactor of 3 values>"


def test_live_log_records_are_redacted_and_a_malformed_one_left_to_its_handler() -> None:
    from pytest_prod_defaults.items import RedactingFilter

    hide = RedactingFilter(Redactor({"k3y-from-ci-secrets": "${SHOP_API_KEY}"}))
    record = logging.LogRecord(
        "shop", logging.WARNING, "app.py", 1, "request from key %s", ("k3y-from-ci-secrets",), None
    )
    assert hide.filter(record)
    assert (record.getMessage(), record.args) == ("request from key ${SHOP_API_KEY}", None)
    try:
        raise ValueError("refused k3y-from-ci-secrets")
    except ValueError:
        failed = logging.LogRecord("shop", logging.ERROR, "app.py", 2, "failed", (), sys.exc_info())
    assert hide.filter(failed)
    assert failed.exc_text is not None and "ValueError: refused ${SHOP_API_KEY}" in failed.exc_text
    # Two placeholders, one argument: the handler reports it ("--- Logging
    # error ---") as it would without the filter, which must not raise first.
    malformed = logging.LogRecord("shop", logging.WARNING, "app.py", 3, "%s and %s", ("one",), None)
    assert hide.filter(malformed)
    assert (malformed.msg, malformed.args) == ("%s and %s", ("one",))


# -- the rule: what is a credential -------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "DATABASE_PASSWORD",
        "db_passwd",
        "sentry_dsn",
        "x-api-key",
        "X-Api-Key",
        "apiKey",
        "clientSecret",
        "secret_key",
        "signing_key",
        "private_key",
        "api_token",
        "X-Auth-Token",
        "basic_auth",
        "Authorization",
        "X-Echo-Authorization",
        "session",
        "session_id",
        "Set-Cookie",
        "session_cookie",
        "webhook_signature",
        "aws_credentials",
    ],
)
def test_a_name_that_says_credential_is_one(name: str) -> None:
    assert secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "author",
        "authority",
        "auth_backend",
        "cache_key",
        "Idempotency-Key",
        "session_cookie_name",
        "token_url",
        "secret_key_file",
        "session_max_age",
        "Access-Control-Allow-Credentials",
        "WWW-Authenticate",
        "ETag",
        "Content-Security-Policy",
        "log_level",
    ],
)
def test_a_name_about_a_credential_or_unrelated_is_not_one(name: str) -> None:
    assert not secret_name(name)


class Database(BaseModel):
    host: str = "db.internal"
    password: str = "nested-pa55word"


def test_a_credential_by_type_name_or_shape_and_never_a_number() -> None:
    assert is_credential("signing", SecretStr("abcdef"))
    assert is_credential("api_token", "plain-token-value")
    assert is_credential("database_url", "postgresql://shop:pa55-w0rd@db/shop")
    assert is_credential("database", Database())
    assert is_credential("upstream", {"authorization": "Bearer abcdefgh1234"})
    assert not is_credential("database_url", "postgresql://db.internal/shop")
    assert not is_credential("token_expiry", 3600)
    assert not is_credential("session", True)
    assert not is_credential("app_env", "production")
    assert sorted(
        credential_values(None, {"database": Database(), "dsn": "postgresql://u:pw-in-url@db/x", "debug": False})
    ) == ["nested-pa55word", "postgresql://u:pw-in-url@db/x", "pw-in-url"]


def test_credential_shapes_are_masked_where_no_value_was_registered() -> None:
    assert mask_shapes("postgresql://shop:pa55-w0rd@db:5432/shop") == f"postgresql://shop:{REDACTED}@db:5432/shop"
    assert mask_shapes("sent Authorization: Bearer abc123def456ghi") == f"sent Authorization: Bearer {REDACTED}"
    assert mask_shapes("Basic dXNlcjpwYXNzd29yZA==") == f"Basic {REDACTED}"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert mask_shapes(f"token={jwt};") == f"token={REDACTED};"
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"
    assert mask_shapes(f"key: {key} end") == f"key: {REDACTED} end"
    # A quoted value under a credential's name: a JSON body or log line, a repr'd dict.
    assert mask_shapes('{"password": "hunter22", "user": "bob"}') == f'{{"password": "{REDACTED}", "user": "bob"}}'
    assert mask_shapes("{'api_key': 'abcd1234'}") == f"{{'api_key': '{REDACTED}'}}"
    assert mask_shapes('{"authorization": "Bearer ${TOKEN}"}') == '{"authorization": "Bearer ${TOKEN}"}'
    # What only looks like one stays: a challenge, an ETag, an asset hash.
    for ordinary in (
        'Basic realm="shop"',
        'Bearer error="invalid_token"',
        '"33a64df551425fcc55e4d42a148795d9f25f89d4"',
    ):
        assert mask_shapes(ordinary) == ordinary


def test_a_known_secret_is_hidden_in_each_escaped_form() -> None:
    secret = "s1gn\\ing\"key'Zq9"
    redact = Redactor()
    redact.add([secret])
    texts = [
        secret,
        repr(secret),
        json.dumps(secret),
        json.dumps({"live": repr(secret)}),
        f"<property value={json.dumps(secret)} />".replace('"', "&quot;"),
    ]
    for form in escaped_forms(secret):
        texts.append(f"before {form} after")
    for text in texts:
        assert all(form not in redact(text) for form in escaped_forms(secret)), text


def test_a_source_is_asked_once_when_first_needed_and_again_only_if_not_yet_ready() -> None:
    redact = Redactor()
    asked: list[str] = []

    def source() -> list[str]:
        asked.append("asked")
        if len(asked) == 1:
            raise NotYet
        redact("a log line written while asked")  # reentrant: no deadlock, no second ask
        return ["lazy-s3cret"]

    def broken() -> list[str]:
        raise RuntimeError("the config does not import")

    redact.add_source(broken)
    redact.add_source(source)
    assert redact("lazy-s3cret") == "lazy-s3cret"  # not ready yet: asked again next time
    assert redact("lazy-s3cret") == REDACTED
    assert redact("lazy-s3cret") == REDACTED
    assert asked == ["asked", "asked"]


def test_output_written_to_the_file_descriptors_is_shown_redacted() -> None:
    """A child process so the test's own capture is out of the way: print,
    logging and a direct write to fd 2, all redacted, none lost."""
    program = textwrap.dedent(
        """
        import logging, os, sys
        from pytest_prod_defaults.process_output import redacted_output
        from pytest_prod_defaults.redaction import Redactor

        redact = Redactor({"fd-s3cret": "${TOKEN}"})
        with redacted_output(redact):
            print("printed fd-s3cret")
            logging.getLogger("app").warning("logged fd-s3cret")
            os.write(2, b"written postgresql://u:pw-on-fd@db/x\\n")
            sys.stdout.write("no newline fd-s3cret")
        print()
        print("after, as it is: fd-s3cret")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, env={**os.environ}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["printed ${TOKEN}", "no newline ${TOKEN}", "after, as it is: fd-s3cret"]
    assert sorted(done.stderr.splitlines()) == ["logged ${TOKEN}", f"written postgresql://u:{REDACTED}@db/x"]
