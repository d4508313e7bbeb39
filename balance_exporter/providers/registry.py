"""The provider registry, keyed by the config's ``provider:`` field.

Adding a provider: a new module with a Provider subclass, and one line here.
"""

from __future__ import annotations

from balance_exporter.providers.base import Provider
from balance_exporter.providers.clickatell import Clickatell
from balance_exporter.providers.telecom23 import Telecom23
from balance_exporter.providers.telnyx import Telnyx
from balance_exporter.providers.twilio import Twilio
from balance_exporter.providers.youcom import YouCom

PROVIDERS: dict[str, type[Provider]] = {
    cls.name: cls for cls in (Telnyx, Twilio, Clickatell, YouCom, Telecom23)
}

__all__ = ["PROVIDERS", "Provider"]
