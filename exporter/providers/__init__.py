"""The provider registry, keyed by the config's ``provider:`` field.

Adding a provider: a new module with a Provider subclass, and one line here.
"""

from __future__ import annotations

from exporter.providers.base import Provider
from exporter.providers.clickatell import Clickatell
from exporter.providers.telecom23 import Telecom23
from exporter.providers.telnyx import Telnyx
from exporter.providers.twilio import Twilio
from exporter.providers.youcom import YouCom

PROVIDERS: dict[str, type[Provider]] = {
    cls.name: cls for cls in (Telnyx, Twilio, Clickatell, YouCom, Telecom23)
}

__all__ = ["PROVIDERS", "Provider"]
