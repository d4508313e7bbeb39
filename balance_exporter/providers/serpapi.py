"""SerpApi: GET /account.json?api_key=<key>; the balance is a number of searches left.

The key travels in the query string, so the request URL itself is a secret: it is built here
with the key percent-encoded exactly as the shared redaction knows it (``quote(key, safe="")``)
and never put into a message. The success body echoes the key (``api_key``); only the figures
below are read from it. ``total_searches_left`` (plan searches plus extra credits) is the
balance; ``plan_renewal_date``, a zone-less date or null without a monthly plan, is read as
midnight UTC for the quota reset. Errors are ``{"error": "<text>"}`` without a code; a 429
means throttled or out of searches, and only its text tells which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from balance_exporter.config.secret import Secret, redact
from balance_exporter.config.settings import ProviderSettings, secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import (
    amount,
    invalid,
    mapping,
    optional_text,
    utc_timestamp,
)

UNIT = "searches"
# The documented 429 text of an account with nothing left ("Your account has run out of
# searches."), as opposed to the hourly throughput limit.
OUT_OF_SEARCHES = re.compile(r"run out of searches", re.IGNORECASE)
OUT_OF_SEARCHES_HINT = (
    "out of searches, not a throttle: the balance is 0 until the plan renews or searches are"
    " added; polling less often will not help"
)


@dataclass(frozen=True, kw_only=True)
class SerpApiSettings(ProviderSettings):
    api_key: Secret = secret(help="the account's API key, sent as the api_key query parameter")


class SerpApi(Provider[SerpApiSettings]):
    name = "serpapi"
    default_base_url = "https://serpapi.com"
    settings_type = SerpApiSettings

    def request(self) -> Request:
        key = quote(self.settings.api_key.reveal(), safe="")
        return Request(
            f"{self.base_url}/account.json?api_key={key}", {"Accept": "application/json"}
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        if "total_searches_left" not in body:
            raise invalid("response has no total_searches_left field")
        balance = amount(body["total_searches_left"], "total_searches_left")
        renewal = body.get("plan_renewal_date")  # null: no monthly plan, and credits never reset
        reset = None if renewal is None else utc_timestamp(renewal, "%Y-%m-%d", "plan_renewal_date")
        return Reading(
            currency=UNIT,
            balance=balance,
            quota_reset=reset,
            provider_account_id=self._account_id(body),
        )

    def _account_id(self, body: dict[str, Any]) -> str | None:
        """The account's id for billing_account_info; a label is never redacted, so an id that
        holds the key (a provider echoing it in the wrong field) is left out."""
        account_id = optional_text(body, "account_id", "response")
        if account_id is None:
            return None
        key = self.settings.api_key
        if redact(account_id, [key, Secret(quote(key.reveal(), safe=""))]) != account_id:
            return None
        return account_id

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        return ErrorDetail(None, text_of(body.get("error")))

    def error(self, response: Response) -> PollError:
        failure = super().error(response)
        if response.status == 429 and OUT_OF_SEARCHES.search(failure.message):
            # Not a throttle: the rate_limited advice (poll less often) would hide an empty
            # account. client_error says the operator must act; the backoff is the same.
            failure.reason = Reason.CLIENT_ERROR
            failure.message += f" ({OUT_OF_SEARCHES_HINT})"
        return failure
