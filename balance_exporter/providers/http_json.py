"""http_json: any JSON balance API, described in the account's config.

One GET to ``url`` (``base_url`` replaces its scheme and host and keeps its path and query),
authenticated as ``auth`` says; every figure, the currency and the account's conditions are
JMESPath expressions over the decoded body, compiled once at config load. Numbers stay exact
(Decimal) through the paths and the ``scale`` multiplier. An error body is read by
``error_code`` / ``error_message``, and ``code_reasons`` maps the provider's codes to reasons;
``error_when`` makes an HTTP 2xx a failure (classified by its code, else ``client_error``: the
provider refused the request for a reason the config does not name as transient).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import encode_basic_auth
from jmespath import exceptions as jmespath_errors

from balance_exporter.config.account import AccountConfig
from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason, reason_for_status
from balance_exporter.polling.transport import one_line
from balance_exporter.providers.base import (
    ErrorDetail,
    Problem,
    Provider,
    Request,
    Response,
    text_of,
)
from balance_exporter.providers.shared.json_paths import OPTIONS, compiled, path_problem
from balance_exporter.providers.shared.parsing import amount, invalid, type_name

AUTH_MODES = ("bearer", "basic", "header", "query", "none")
# The keys each auth mode needs, in the order a problem names them.
AUTH_KEYS: Mapping[str, tuple[str, ...]] = {
    "bearer": ("api_key",),
    "basic": ("username", "password"),
    "header": ("auth_header", "api_key"),
    "query": ("auth_param", "api_key"),
    "none": (),
}
CREDENTIAL_KEYS = ("api_key", "username", "password", "auth_header", "auth_param")
FIGURES = ("balance", "credit_limit", "pending", "available_credit")
CONDITIONS = ("blocked_when", "degraded_when", "not_ready_when", "error_when")
PATHS = (*FIGURES, "currency_path", *CONDITIONS, "error_code", "error_message")
REASONS = tuple(reason.value for reason in Reason)
# An HTTP header name (RFC 9110 token) and a query parameter name kept to plain characters.
HEADER_NAME = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
PARAM_NAME = r"[A-Za-z0-9_.~\[\]-]+"
# Headers that carry credentials or that the transport sets: never from ``headers``.
RESERVED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "host"})
# A currency label: an ISO 4217 code (three letters, upper-cased) or a lower-case unit word.
ISO_CODE = re.compile(r"[A-Za-z]{3}")
UNIT_WORD = re.compile(r"[a-z][a-z_]{1,31}")
LONG_CODE = re.compile(r"[A-Z]{3,8}")


@dataclass(frozen=True, kw_only=True)
class HttpJsonSettings(ProviderSettings):
    url: str = setting(help="the balance URL, http:// or https://")
    auth: str = setting(choices=AUTH_MODES, default="bearer")
    auth_header: str | None = setting(
        required=False, pattern=HEADER_NAME, help="an HTTP header name"
    )
    auth_param: str | None = setting(
        required=False, pattern=PARAM_NAME, help="a query parameter name"
    )
    api_key: Secret | None = secret(required=False)
    username: str | None = setting(
        required=False, pattern=r"[^:\x00-\x1f\x7f]+", help="HTTP Basic allows no colon in it"
    )
    password: Secret | None = secret(required=False)
    headers: Mapping[str, str] | None = setting(required=False, kind="mapping")
    balance: str = setting(help="a JMESPath expression")
    scale: Decimal | None = setting(required=False, kind="number", help="a multiplier such as 0.01")
    currency: str | None = setting(
        required=False,
        pattern=r"[A-Za-z]{3}|[A-Z]{3,8}|[a-z][a-z_]{1,31}",
        help="an ISO 4217 code like USD, or a lower-case unit word like credits",
    )
    currency_path: str | None = setting(required=False)
    credit_limit: str | None = setting(required=False)
    pending: str | None = setting(required=False)
    available_credit: str | None = setting(required=False)
    blocked_when: str | None = setting(required=False)
    degraded_when: str | None = setting(required=False)
    not_ready_when: str | None = setting(required=False)
    error_when: str | None = setting(required=False)
    error_code: str | None = setting(required=False)
    error_message: str | None = setting(required=False)
    code_reasons: Mapping[str, str] | None = setting(required=False, kind="mapping")


def label(value: str) -> str | None:
    """A currency label from a config or an answer: an ISO code (upper-cased), a longer code, or
    a lower-case unit word; None for anything else."""
    value = value.strip()
    if ISO_CODE.fullmatch(value):
        return value.upper()
    if LONG_CODE.fullmatch(value) or UNIT_WORD.fullmatch(value):
        return value
    return None


class HttpJson(Provider[HttpJsonSettings]):
    name = "http_json"
    default_base_url = ""  # the account's own url names the host
    settings_type = HttpJsonSettings

    def __init__(self, account: AccountConfig) -> None:
        super().__init__(account)
        raw = self.settings.code_reasons or {}
        self.reasons: Mapping[str, Reason] = {code: Reason(word) for code, word in raw.items()}

    @classmethod
    def check(
        cls, values: Mapping[str, object], given: frozenset[str], base_url: str | None
    ) -> list[Problem]:
        problems = _url_problems(values.get("url"))
        problems += _auth_problems(values, given)
        problems += _header_problems(values)
        for key in PATHS:
            expression = values.get(key)
            if isinstance(expression, str):
                problem = path_problem(expression)
                if problem:
                    problems.append((key, problem))
        if "currency" in given and "currency_path" in given:
            problems.append(("currency", "give currency or currency_path, not both"))
        elif not {"currency", "currency_path"} & given:
            problems.append(("currency", "is required (or currency_path)"))
        scale = values.get("scale")
        if isinstance(scale, Decimal) and scale <= 0:
            problems.append(("scale", "must be a positive number (a multiplier such as 0.01)"))
        problems += _code_reason_problems(values, given)
        return problems

    # --- the request ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The scheme and host polled: the base_url's, else the url's own."""
        if self.account.base_url is not None:
            return super().base_url
        parts = urlsplit(self.settings.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def url(self) -> str:
        """The account's url, on the base_url's scheme and host when one is given."""
        url = self.settings.url
        if self.account.base_url is None:
            return url
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        return self.account.base_url.rstrip("/") + (parts.path or "/") + query

    def request(self) -> Request:
        settings = self.settings
        headers = dict(settings.headers or {})
        url = self.url
        key = settings.api_key.reveal() if settings.api_key is not None else ""
        if settings.auth == "bearer":
            headers["Authorization"] = f"Bearer {key}"
        elif settings.auth == "header":
            headers[str(settings.auth_header)] = key
        elif settings.auth == "basic":
            assert settings.password is not None  # the checker requires it
            headers["Authorization"] = encode_basic_auth(
                str(settings.username), settings.password.reveal()
            )
        elif settings.auth == "query":
            # Percent-encoded: the shared redaction knows this form of the key, and the one the
            # HTTP client sends (it decodes a few characters a query may hold as they are).
            pair = f"{quote(str(settings.auth_param), safe='')}={quote(key, safe='')}"
            url += ("&" if urlsplit(url).query else "?") + pair
        return Request(url, headers)

    # --- the answer ----------------------------------------------------------------------------

    def parse(self, response: Response) -> Reading:
        body = response.json()
        settings = self.settings
        if self.condition(body, "error_when"):
            detail = self.error_detail(body)
            raise self.failure(detail, response.status, when=True)
        if self.condition(body, "not_ready_when"):
            return Reading(ready=False)
        if self.condition(body, "degraded_when"):
            return Reading(
                degraded=True, degraded_reason=f"degraded_when is true: {settings.degraded_when}"
            )
        balance = self.figure(body, "balance")
        if balance is None:
            raise invalid(f"balance: {settings.balance} finds nothing in the answer")
        blocked = self.condition(body, "blocked_when")
        return Reading(
            currency=self.currency(body),
            balance=balance,
            credit_limit=self.figure(body, "credit_limit"),
            pending=self.figure(body, "pending"),
            available_credit=self.figure(body, "available_credit"),
            credit_blocked=None if settings.blocked_when is None else blocked,
        )

    def search(self, body: Any, key: str) -> Any:
        """What the path under ``key`` finds in ``body`` (None when it finds nothing)."""
        expression = getattr(self.settings, key)
        try:
            return compiled(expression).search(body, options=OPTIONS)
        except jmespath_errors.JMESPathError as exc:  # a function given the wrong types
            raise invalid(f"{key}: {expression}: {one_line(str(exc), 120)}") from None

    def figure(self, body: Any, key: str) -> Decimal | None:
        if getattr(self.settings, key) is None:
            return None
        found = self.search(body, key)
        if found is None:
            return None  # an optional figure the answer does not give
        where = f"{key} ({getattr(self.settings, key)})"
        value = amount(found, where)
        scale = self.settings.scale
        if scale is None:
            return value
        with localcontext() as exact:
            exact.prec = 100
            exact.traps[Inexact] = True  # never a rounded product
            return amount(value * scale, f"{where} scaled by {scale}")

    def condition(self, body: Any, key: str) -> bool | None:
        """True or False as the path says; None when it is not configured or finds nothing."""
        if getattr(self.settings, key) is None:
            return None
        found = self.search(body, key)
        if found is None or isinstance(found, bool):
            return found
        expression = getattr(self.settings, key)
        raise invalid(f"{key} ({expression}) gives {type_name(found)}, expected true or false")

    def currency(self, body: Any) -> str | None:
        fixed = self.settings.currency
        if fixed is not None:
            return label(fixed)
        expression = self.settings.currency_path
        if expression is None:
            return None
        found = self.search(body, "currency_path")
        if found is None:
            raise invalid(f"currency_path: {expression} finds nothing in the answer")
        code = label(found) if isinstance(found, str) else None
        if code is None:
            shown = repr(found[:20]) if isinstance(found, str) else type_name(found)
            raise invalid(
                f"currency_path ({expression}) gives {shown}, not a currency code or unit word"
            )
        return code

    # --- errors --------------------------------------------------------------------------------

    def error(self, response: Response) -> PollError:
        try:
            body = response.json()
        except PollError:
            body = None  # an HTML or empty error page says nothing more than the status
        # Any JSON, not only an object: the paths decide what an error body holds.
        detail = self.error_detail(body) if body is not None else ErrorDetail()
        return self.failure(detail, response.status)

    def error_detail(self, body: Any) -> ErrorDetail:
        code = message = None
        try:
            if self.settings.error_code is not None:
                code = text_of(self.search(body, "error_code"))
            if self.settings.error_message is not None:
                message = text_of(self.search(body, "error_message"))
        except PollError:
            pass  # an error body the paths cannot read says no more than its status
        return ErrorDetail(code, message)

    def failure(self, detail: ErrorDetail, status: int, *, when: bool = False) -> PollError:
        """An error answer (``when``: a 2xx that error_when says is one) classified by the
        provider's code where code_reasons names it, else by the status."""
        reason = self.reasons.get(detail.code or "")
        if reason is None:
            reason = Reason.CLIENT_ERROR if when else reason_for_status(status)
        message = f"HTTP {status}"
        if when:
            message += f", error_when is true ({self.settings.error_when})"
        if detail.code:
            message += f", code {detail.code}"
        if detail.text:
            message += f": {one_line(detail.text)}"
        return PollError(reason, message, status=status, code=detail.code)


# --- config problems across keys -----------------------------------------------------------------


def _url_problems(url: object) -> list[Problem]:
    if not isinstance(url, str):
        return []
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return [("url", "not a valid URL")]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [("url", "must be an http:// or https:// URL with a host")]
    if parts.username or parts.password:
        return [("url", "must not hold credentials; use auth and its keys")]
    if parts.fragment:
        return [("url", "must not have a fragment")]
    return []


def _auth_problems(values: Mapping[str, object], given: frozenset[str]) -> list[Problem]:
    mode = values.get("auth")
    if mode not in AUTH_KEYS:
        return []  # an unknown mode is reported on its own
    needed = AUTH_KEYS[str(mode)]
    problems: list[Problem] = []
    for key in needed:
        if key not in given:
            also = f" (or {key}_file)" if key in ("api_key", "password") else ""
            problems.append((key, f"is required with auth: {mode}{also}"))
    for key in CREDENTIAL_KEYS:
        if key in given and key not in needed:
            problems.append((key, f"is not used with auth: {mode}"))
    return problems


def _header_problems(values: Mapping[str, object]) -> list[Problem]:
    headers = values.get("headers")
    if not isinstance(headers, Mapping):
        return []
    auth_header = values.get("auth_header")
    problems: list[Problem] = []
    for name, value in headers.items():
        if not re.fullmatch(HEADER_NAME, name):
            problems.append(("headers", f"{name!r} is not an HTTP header name"))
        elif name.lower() in RESERVED_HEADERS:
            problems.append(
                ("headers", f"{name}: not allowed here (headers are not secret: use auth)")
            )
        elif isinstance(auth_header, str) and name.lower() == auth_header.lower():
            problems.append(("headers", f"{name}: is the auth_header already"))
        elif re.search(r"[\x00-\x1f\x7f]", value):
            problems.append(("headers", f"{name}: the value holds a control character"))
    return problems


def _code_reason_problems(values: Mapping[str, object], given: frozenset[str]) -> list[Problem]:
    reasons = values.get("code_reasons")
    if not isinstance(reasons, Mapping):
        return []
    problems: list[Problem] = [
        ("code_reasons", f"{code}: {word!r} is not a reason (one of {', '.join(REASONS)})")
        for code, word in reasons.items()
        if word not in REASONS
    ]
    if "error_code" not in given:
        problems.append(("code_reasons", "needs error_code, the path to the code it maps"))
    return problems
