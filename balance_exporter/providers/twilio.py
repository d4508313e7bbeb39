"""Twilio: GET /2010-04-01/Accounts/{sid}/Balance.json with HTTP Basic auth.

Authenticates with the account SID and auth token, or with an API key SID and secret
(the account SID still names the path). Subaccounts have no balance of their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from aiohttp import encode_basic_auth

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.providers.base import ErrorDetail, Field, Provider, Request, Response, text_of
from balance_exporter.providers.parsing import amount, currency, invalid, mapping, optional_text

SUBACCOUNT_HINT = (
    "this account has no balance of its own (a subaccount?): configure the parent account"
)


class Twilio(Provider):
    name = "twilio"
    default_base_url = "https://api.twilio.com"
    fields = (
        Field(
            "account_sid", pattern=re.compile(r"AC[0-9a-fA-F]{32}"), help="AC followed by 32 hex"
        ),
        Field("auth_token", secret=True, required=False),
        Field(
            "api_key_sid",
            required=False,
            pattern=re.compile(r"SK[0-9a-fA-F]{32}"),
            help="SK followed by 32 hex",
        ),
        Field("api_key_secret", secret=True, required=False),
    )
    code_reasons: ClassVar[Mapping[str, Reason]] = {
        "20003": Reason.AUTH,
        "20429": Reason.RATE_LIMITED,
    }

    @classmethod
    def check(cls, settings: Mapping[str, str], secrets: frozenset[str]) -> list[tuple[str, str]]:
        with_token = "auth_token" in secrets
        with_key = "api_key_sid" in settings or "api_key_secret" in secrets
        if with_token and with_key:
            return [("auth_token", "give auth_token or api_key_sid + api_key_secret, not both")]
        if with_key and not ("api_key_sid" in settings and "api_key_secret" in secrets):
            missing = "api_key_secret" if "api_key_sid" in settings else "api_key_sid"
            return [(missing, "is required with the other api_key_* field")]
        if not with_token and not with_key:
            return [("auth_token", "is required (or api_key_sid + api_key_secret)")]
        return []

    def request(self) -> Request:
        account = self.account
        if account.has_secret("auth_token"):
            user, password = account.setting("account_sid"), account.secret("auth_token")
        else:
            user, password = account.setting("api_key_sid"), account.secret("api_key_secret")
        return Request(
            f"{self.base_url}/2010-04-01/Accounts/{account.setting('account_sid')}/Balance.json",
            {"Authorization": encode_basic_auth(str(user), password)},
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        if "balance" not in body:
            raise invalid("response has no balance field")
        if body["balance"] is None:  # documented: child accounts carry no balance
            raise PollError(Reason.CLIENT_ERROR, SUBACCOUNT_HINT, status=response.status)
        return Reading(
            currency=currency(body, "currency", "response"),
            balance=amount(body["balance"], "balance"),
            provider_account_id=optional_text(body, "account_sid", "response"),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        # Legacy {code, message, more_info, status}; RFC 9457 {type, title, status, code, detail}.
        text = (
            text_of(body.get("message"))
            or text_of(body.get("detail"))
            or text_of(body.get("title"))
        )
        return ErrorDetail(text_of(body.get("code")), text)

    def error(self, response: Response) -> PollError:
        failure = super().error(response)
        if response.status == 404 and failure.code == "20404":
            return PollError(
                Reason.CLIENT_ERROR,
                f"HTTP 404, twilio code 20404: {SUBACCOUNT_HINT}",
                status=404,
                code="20404",
            )
        return failure
