"""Secret: a credential that never shows itself, and redaction of echoed values."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest

from balance_exporter.config.secret import Secret, redact

CANARY = "CANARY-secret-5e2f0b"
MASK = "Secret('********')"


def test_reveal_gives_the_value() -> None:
    assert Secret(CANARY).reveal() == CANARY


def test_every_text_form_is_masked() -> None:
    secret = Secret(CANARY)
    assert repr(secret) == MASK
    assert str(secret) == MASK
    assert f"{secret}" == MASK
    assert f"{secret!r}" == MASK
    assert "%s %r" % (secret, secret) == f"{MASK} {MASK}"  # noqa: UP031 - the old style too
    assert format(secret) == MASK
    assert repr([secret, {"k": secret}]) == f"[{MASK}, {{'k': {MASK}}}]"


def test_a_logged_secret_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="balance_exporter.test"):
        logging.getLogger("balance_exporter.test").info("key is %s", Secret(CANARY))
    assert caplog.messages == [f"key is {MASK}"]


def test_no_attribute_dictionary_to_peek_into() -> None:
    assert not hasattr(Secret(CANARY), "__dict__")


def test_equality_is_by_value() -> None:
    assert Secret(CANARY) == Secret(CANARY)
    assert Secret(CANARY) != Secret(CANARY + "x")
    assert Secret(CANARY) != CANARY
    assert Secret("") == Secret("")
    assert Secret("é") == Secret("é")


def test_hash_does_not_depend_on_the_value() -> None:
    assert hash(Secret("a")) == hash(Secret("b"))
    assert len({Secret("a"), Secret("a"), Secret("b")}) == 2


def test_cannot_be_pickled_or_copied() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(CANARY))
    with pytest.raises(TypeError, match="cannot be pickled"):
        copy.copy(Secret(CANARY))


def test_redact_blanks_every_occurrence() -> None:
    text = f"invalid key {CANARY} (key={CANARY})"
    assert redact(text, [Secret(CANARY)]) == "invalid key ******** (key=********)"


def test_redact_handles_several_secrets() -> None:
    text = "sid AC1 token tok-123 secret sec-456"
    assert (
        redact(text, [Secret("tok-123"), Secret("sec-456")])
        == "sid AC1 token ******** secret ********"
    )


def test_redact_leaves_text_without_secrets_alone() -> None:
    assert redact("HTTP 401: unauthorized", [Secret(CANARY)]) == "HTTP 401: unauthorized"
    assert redact("HTTP 401", []) == "HTTP 401"


def test_redact_skips_values_too_short_to_be_meaningful() -> None:
    # A three-character secret would blank out ordinary words; four is the threshold.
    assert redact("abc abcd", [Secret("abc")]) == "abc abcd"
    assert redact("abc abcd", [Secret("abcd")]) == "abc ********"
