"""DeepSeek: GET /user/balance with a Bearer key; one balance per currency the account holds.

``balance_infos`` has an entry per currency (CNY, USD), its ``total_balance`` a string; the
first entry is the reading's balance and the others its further balances, so each currency
keeps a series of its own. ``is_available: false`` (nothing usable for API calls, possibly
with money left) is credit blocked. Errors are OpenAI-style; ``error.type`` says more than the
generic ``error.code``, and a 401 quotes the key's last characters (``****abcd``), which go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import amount, currency, invalid, mapping, type_name

MASKED = "****"
# The key as a 401 quotes it: its last characters behind asterisks, whatever they are
# ("****abcd", "****18b\"", "****Njk="); the full-key redaction cannot catch such a piece.
QUOTED_KEY = re.compile(r"\S*\*{2,}\S*")
# And whatever stands where the message names the key, should it ever come unmasked.
NAMED_KEY = re.compile(r"(api key:\s*)(.*?)(\s+is invalid)", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class DeepSeekSettings(ProviderSettings):
    api_key: Secret = secret(help="API key (sk-...)")


class DeepSeek(Provider[DeepSeekSettings]):
    name = "deepseek"
    default_base_url = "https://api.deepseek.com"
    settings_type = DeepSeekSettings
    # By error.type: error.code is "invalid_request_error" even for a wrong key.
    code_reasons: ClassVar[Mapping[str, Reason]] = {"authentication_error": Reason.AUTH}

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/user/balance",
            {
                "Authorization": f"Bearer {self.settings.api_key.reveal()}",
                "Accept": "application/json",
            },
        )

    def parse(self, response: Response) -> Reading:
        # Blank keep-alive lines around the body are JSON whitespace: the decoder skips them.
        body = mapping(response.json(), "response")
        blocked = _blocked(body)
        balances = _balances(body)
        if not balances:  # documented: an empty list is an account with no balance at all
            return Reading(credit_blocked=blocked)
        (first, balance), *others = balances.items()
        return Reading(
            currency=first,
            balance=balance,
            credit_blocked=blocked,
            other_balances=tuple(others),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        error = body.get("error")
        if not isinstance(error, dict):
            return ErrorDetail()
        text = text_of(error.get("message"))
        return ErrorDetail(text_of(error.get("type")), None if text is None else _unquoted(text))


def _blocked(body: dict[str, Any]) -> bool | None:
    """Credit blocked when DeepSeek says nothing is usable; unknown when it does not say."""
    available = body.get("is_available")
    if available is None:  # optional in DeepSeek's schema
        return None
    if not isinstance(available, bool):
        raise invalid(f"is_available is {type_name(available)}, expected a boolean")
    return not available


def _balances(body: dict[str, Any]) -> dict[str, Decimal]:
    """``total_balance`` by currency, in the answer's order; a currency twice is invalid (its
    series would be ambiguous)."""
    infos = body.get("balance_infos")
    if infos is None:
        raise invalid("response has no balance_infos")
    if not isinstance(infos, list):
        raise invalid(f"balance_infos is {type_name(infos)}, expected a list")
    balances: dict[str, Decimal] = {}
    for index, entry in enumerate(infos):
        where = f"balance_infos[{index}]"
        info = mapping(entry, where)
        code = currency(info, "currency", where)
        if code is None:
            raise invalid(f"{where} has no currency")
        if code in balances:
            raise invalid(f"{where}.currency {code} is given twice")
        if info.get("total_balance") is None:
            raise invalid(f"{where} has no total_balance")
        balances[code] = amount(info["total_balance"], f"{where}.total_balance")
    return balances


def _unquoted(text: str) -> str:
    """The message without the piece of the key it quotes."""
    text = NAMED_KEY.sub(lambda match: match[1] + MASKED + match[3], text)
    return QUOTED_KEY.sub(MASKED, text)
