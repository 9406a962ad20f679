"""What is never shown: the target's credentials and the values the manifest
read from the environment (``pytest_prod_defaults.redaction``)."""

from __future__ import annotations

import logging
import sys

from pytest_prod_defaults.redaction import REDACTED, Redactor


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
    assert not Redactor({"abc": "${TINY}"})  # nothing to hide: callers skip the work
    assert Redactor.for_target({"Authorization": "Bearer x"})  # the whole value is long enough


def test_its_repr_never_shows_a_value() -> None:
    redact = Redactor.for_target({"Authorization": "Bearer s3cret-token"}, {"s3cret-token": "${T}"})
    assert "s3cret" not in repr(redact)
    assert repr(redact) == "<Redactor of 3 values>"


def test_live_log_records_are_redacted_and_a_malformed_one_left_to_its_handler() -> None:
    from pytest_prod_defaults.items import RedactingFilter

    hide = RedactingFilter([Redactor({"k3y-from-ci-secrets": "${SHOP_API_KEY}"})])
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
