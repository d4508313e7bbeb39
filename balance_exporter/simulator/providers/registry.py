"""The simulated providers, keyed like the exporter's registry (providers/registry.py).

A simulated provider registers itself by being a module of this package that defines a
``SimProvider`` subclass with a ``name`` of its own.
"""

from __future__ import annotations

from typing import cast

from balance_exporter.discovery import defined_in
from balance_exporter.simulator.providers.base import SimProvider

NOT_SIMULATORS = frozenset({"base", "registry"})
SIMULATED: dict[str, SimProvider] = {
    cls.name: cls()
    for cls in cast(
        "list[type[SimProvider]]",
        defined_in("balance_exporter.simulator.providers", SimProvider, NOT_SIMULATORS),
    )
}
