"""ClickSend: GET /v3/account with HTTP Basic, the API username and the API key.

Every answer is the envelope ``{"http_code", "response_code", "response_msg", "data"}``. A
``response_code`` other than ``SUCCESS`` is a failure even on HTTP 200 (documented for sends,
assumed here as the safe rule), classified by that code. ``data.balance`` is a string with six
decimals and the currency comes from ``data._currency.currency_name_short``, never assumed.

The success body carries a credential: ``data._subaccount.api_key``, the key of the
sub-account the credentials belong to, which may be another account's than the one configured.
The exporter redacts only the account's own secrets, so this adapter keeps everything else of a
body out of what it reports: a reading holds the balance and the currency alone, and any text
it quotes (``response_msg``, a code, a rejected value) is first cleared of every credential the
body itself carries (``_subaccount`` values, any ``*key*``/``*secret*``/``*password*``/
``*token*`` field) and of every key-shaped word (ClickSend keys are GUIDs such as
``D83DED51-9E35-4D42-9BB9-0E34B7CA85AE``), which may be a key the body names nowhere else.
A body with more credentials than that can clear for certain (too many, too long, too deep)
has none of its text quoted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from aiohttp import encode_basic_auth

from balance_exporter.config.secret import Secret, redact
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import amount, currency, invalid, mapping

SUCCESS = "SUCCESS"
MASK = "********"  # what the shared redaction writes too
# A word of 16 or more letters, digits, "-" or "_": masked where it mixes letters and digits,
# a key or a token, never prose, since only the account's own key is known to the redaction.
WORD = re.compile(r"[\w-]{16,}", re.ASCII)
TRAILING_WORD = re.compile(r"[\w-]+$", re.ASCII)
QUOTED = 1000  # characters of a text scrubbed, well beyond the 200 a message keeps
# Field names that hold a credential, wherever they are in a body.
CREDENTIAL_FIELD = re.compile(r"key|secret|password|token", re.IGNORECASE)
# Beyond ClickSend's one or two keys of 36 characters: a body scrub() does not quote.
MAX_CREDENTIALS = 16
MAX_CREDENTIAL_LENGTH = 128
MAX_DEPTH = 32
UNQUOTED = "the answer is not a valid balance (not quoted: its credentials are past clearing)"


@dataclass(frozen=True, kw_only=True)
class ClickSendSettings(ProviderSettings):
    # No colon or space: it is the user half of HTTP Basic.
    username: str = setting(pattern=r"[^:\s]+", help="the API username (no colon or space)")
    api_key: Secret = secret(help="the API key of 'API Credentials' in the dashboard")


class ClickSend(Provider[ClickSendSettings]):
    name = "clicksend"
    default_base_url = "https://rest.clicksend.com"
    settings_type = ClickSendSettings
    # Nearest reasons: ClickSend gives a code, no reason word. SOMETHING_IS_WRONG ("generic
    # error") says no more than its status, so the status decides (on an HTTP 200: client_error).
    code_reasons: ClassVar[Mapping[str, Reason]] = {
        "UNAUTHORIZED": Reason.AUTH,
        "FORBIDDEN": Reason.AUTH,
        "INVALID_CREDENTIALS": Reason.AUTH,
        "MISSING_CREDENTIALS": Reason.AUTH,
        # The credentials will not do until the account is activated: an account to fix.
        "ACCOUNT_NOT_ACTIVATED": Reason.AUTH,
        # Out of message credits: nothing a retry or a new key mends.
        "INSUFFICIENT_CREDIT": Reason.CLIENT_ERROR,
        "TOO_MANY_REQUESTS": Reason.RATE_LIMITED,
        "INTERNAL_SERVER_ERROR": Reason.SERVER_ERROR,
        "INTERNAL_ERROR": Reason.SERVER_ERROR,
        "BAD_REQUEST": Reason.CLIENT_ERROR,
        "NOT_FOUND": Reason.CLIENT_ERROR,  # also what one spec pairs with 405
        "METHOD_NOT_FOUND": Reason.CLIENT_ERROR,
    }

    def request(self) -> Request:
        settings = self.settings
        return Request(
            f"{self.base_url}/v3/account",
            {
                "Authorization": encode_basic_auth(settings.username, settings.api_key.reveal()),
                "Accept": "application/json",
            },
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        code = text_of(body.get("response_code"))
        if code is None:
            raise invalid("response has no response_code")
        if code != SUCCESS:  # the envelope says it failed, whatever the HTTP status
            raise self.failure(self.error_detail(body), response.status)
        try:
            return self._reading(mapping(body.get("data"), "data"))
        except PollError as failure:  # a rejected value may be quoted: never a body's key
            found = credentials(body)
            failure.message = UNQUOTED if found is None else scrub(failure.message, found)
            failure.args = (failure.message,)
            raise

    def _reading(self, data: dict[str, Any]) -> Reading:
        name = currency(
            mapping(data.get("_currency"), "data._currency"),
            "currency_name_short",
            "data._currency",
        )
        if name is None:
            raise invalid("data._currency has no currency_name_short")
        # Nothing else of data is read: _subaccount holds a key.
        return Reading(currency=name, balance=amount(data.get("balance"), "data.balance"))

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        found = credentials(body)
        code = text_of(body.get("response_code"))
        if code is not None and code not in self.code_reasons:  # a known code is no secret
            code = scrub(code, found)
        text = text_of(body.get("response_msg"))
        return ErrorDetail(code, None if text is None else scrub(text, found))


def scrub(text: str, found: list[str] | None) -> str:
    """``text`` without the credentials ``found`` in its body and without key-shaped words;
    nothing of it when they could not all be found."""
    if found is None:
        return MASK
    text = " ".join(text.split())
    if len(text) > QUOTED:  # bounds the work; the cut word goes too, lest it be a key's start
        text = TRAILING_WORD.sub("", text[:QUOTED])
    text = redact(text, [Secret(value) for value in found])
    return WORD.sub(_key_shaped, text)


def _key_shaped(word: re.Match[str]) -> str:
    text = word.group()
    has_digit = any(c.isdigit() for c in text)
    return MASK if has_digit and any(c.isalpha() for c in text) else text


class _Unsure(Exception):
    """A body with credentials beyond what scrub() can clear for certain."""


def credentials(value: Any) -> list[str] | None:
    """Every string of ``value`` held by a ``_subaccount`` object or a credential field; None
    for a body with more of them, or deeper, than can be cleared for certain."""
    found: dict[str, None] = {}

    def walk(value: Any, inside: bool, depth: int) -> None:
        if depth > MAX_DEPTH:  # ClickSend's bodies are shallow
            raise _Unsure
        if isinstance(value, dict):
            for key, item in value.items():
                held = inside or key == "_subaccount" or bool(CREDENTIAL_FIELD.search(str(key)))
                walk(item, held, depth + 1)
        elif isinstance(value, list):
            for item in value:
                walk(item, inside, depth + 1)
        elif inside and isinstance(value, str):
            found[value] = None
            if len(found) > MAX_CREDENTIALS or len(value) > MAX_CREDENTIAL_LENGTH:
                raise _Unsure

    try:
        walk(value, False, 0)
    except _Unsure:
        return None
    return list(found)
