"""Twilio: GET /2010-04-01/Accounts/{sid}/Balance.json with HTTP Basic auth.

Authenticates with the account SID and auth token, or with an API key SID and secret (the
account SID still names the path). Subaccounts and Connect accounts have no balance of their
own. A region is reached through an edge, ``https://api.{edge}.{region}.twilio.com``, and
credentials work only in the region that issued them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from aiohttp import encode_basic_auth

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.providers.base import (
    ErrorDetail,
    Problem,
    Provider,
    Request,
    Response,
    text_of,
)
from balance_exporter.providers.shared.parsing import (
    amount,
    currency,
    invalid,
    mapping,
    optional_text,
)

NO_BALANCE_HINT = (
    "a subaccount or a Connect account has no balance of its own: configure the parent account"
)
# The regional hosts without an edge stopped answering on 2026-04-28.
LEGACY_REGIONAL_HOST = re.compile(r"api\.([a-z]{2}[0-9])\.twilio\.com")
REGIONAL_HOST = re.compile(r"api\.[a-z-]+\.([a-z]{2}[0-9])\.twilio\.com")
# The edge that serves each region, for the config problem that names the host to use.
EDGES = {
    "us1": "ashburn",
    "ie1": "dublin",
    "de1": "frankfurt",
    "au1": "sydney",
    "jp1": "tokyo",
    "sg1": "singapore",
    "br1": "sao-paulo",
}


@dataclass(frozen=True, kw_only=True)
class TwilioSettings(ProviderSettings):
    account_sid: str = setting(pattern=r"AC[0-9a-fA-F]{32}", help="AC followed by 32 hex")
    auth_token: Secret | None = secret(required=False)
    api_key_sid: str | None = setting(
        required=False, pattern=r"SK[0-9a-fA-F]{32}", help="SK followed by 32 hex"
    )
    api_key_secret: Secret | None = secret(required=False)
    region: str | None = setting(required=False, pattern=r"[a-z]{2}[0-9]", help="e.g. ie1, au1")
    edge: str | None = setting(required=False, pattern=r"[a-z]+(-[a-z]+)*", help="e.g. dublin")


class Twilio(Provider[TwilioSettings]):
    name = "twilio"
    default_base_url = "https://api.twilio.com"
    settings_type = TwilioSettings
    code_reasons: ClassVar[Mapping[str, Reason]] = {
        "20003": Reason.AUTH,
        "20429": Reason.RATE_LIMITED,
    }

    @classmethod
    def check(
        cls, values: Mapping[str, object], given: frozenset[str], base_url: str | None
    ) -> list[Problem]:
        return _auth_problems(given) + _region_problems(values, base_url)

    @property
    def base_url(self) -> str:
        region, edge = self.settings.region, self.settings.edge
        if self.account.base_url is None and region and edge:
            return f"https://api.{edge}.{region}.twilio.com"
        return super().base_url

    @property
    def region(self) -> str | None:
        """The region of the host polled, when it is a regional one (credentials are per region)."""
        match = REGIONAL_HOST.fullmatch(urlsplit(self.base_url).hostname or "")
        return match.group(1) if match else None

    def request(self) -> Request:
        settings = self.settings
        user, password = settings.account_sid, settings.auth_token
        if password is None:  # the checker requires one of the two pairs
            user, password = str(settings.api_key_sid), settings.api_key_secret
        assert password is not None
        return Request(
            f"{self.base_url}/2010-04-01/Accounts/{settings.account_sid}/Balance.json",
            {"Authorization": encode_basic_auth(user, password.reveal())},
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        if "balance" not in body:
            raise invalid("response has no balance field")
        if body["balance"] is None:  # documented: child accounts carry no balance
            raise PollError(Reason.CLIENT_ERROR, NO_BALANCE_HINT, status=response.status)
        return Reading(
            currency=currency(body, "currency", "response"),
            balance=amount(body["balance"], "balance"),
            provider_account_id=optional_text(body, "account_sid", "response"),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        # {code, message, more_info, status} with the useful text in ``detail`` where present;
        # RFC 9457 {type, title, status, code, detail}.
        text = (
            text_of(body.get("detail"))
            or text_of(body.get("message"))
            or text_of(body.get("title"))
        )
        return ErrorDetail(text_of(body.get("code")), text)

    def error(self, response: Response) -> PollError:
        failure = super().error(response)
        if response.status == 404 and failure.code == "20404":
            failure.reason = Reason.CLIENT_ERROR
            failure.message = f"HTTP 404, twilio code 20404: {NO_BALANCE_HINT}"
        elif failure.code == "20003" and self.region:
            failure.message += (
                f" (credentials work only in the region that issued them; this host is in"
                f" {self.region})"
            )
        return failure


def _auth_problems(given: frozenset[str]) -> list[Problem]:
    with_token = "auth_token" in given
    with_key = "api_key_sid" in given or "api_key_secret" in given
    if with_token and with_key:
        return [("auth_token", "give auth_token or api_key_sid + api_key_secret, not both")]
    if with_key and not ("api_key_sid" in given and "api_key_secret" in given):
        missing = "api_key_secret" if "api_key_sid" in given else "api_key_sid"
        return [(missing, "is required with the other api_key_* field")]
    if not with_token and not with_key:
        return [("auth_token", "is required (or api_key_sid + api_key_secret)")]
    return []


def _region_problems(values: Mapping[str, object], base_url: str | None) -> list[Problem]:
    region, edge = values.get("region"), values.get("edge")
    if region and not edge:
        known = EDGES.get(str(region))
        add = f"add edge: {known}" if known else f"add the edge that serves {region}"
        return [
            (
                "region",
                f"needs edge too: api.{region}.twilio.com stopped working on 2026-04-28;"
                f" {add} (the host is {_regional_host(str(region))})",
            )
        ]
    if edge and not region:
        return [("edge", f"needs region too: the host is https://api.{edge}.<region>.twilio.com")]
    legacy = LEGACY_REGIONAL_HOST.fullmatch(urlsplit(base_url or "").hostname or "")
    if legacy:
        old = legacy.group(1)
        return [
            (
                "base_url",
                f"api.{old}.twilio.com stopped working on 2026-04-28: use {_regional_host(old)}"
                f" (or region: {old} with edge: {EDGES.get(old, '<edge>')})",
            )
        ]
    return []


def _regional_host(region: str) -> str:
    """The host serving ``region``, with a placeholder where its edge is not known here."""
    return f"https://api.{EDGES.get(region, '<edge>')}.{region}.twilio.com"
