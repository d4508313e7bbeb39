"""The simulated providers, keyed like the exporter's registry (providers/registry.py)."""

from __future__ import annotations

from balance_exporter.simulator.providers.base import SimProvider
from balance_exporter.simulator.providers.clickatell import ClickatellSim
from balance_exporter.simulator.providers.telecom23 import Telecom23Sim
from balance_exporter.simulator.providers.telnyx import TelnyxSim
from balance_exporter.simulator.providers.twilio import TwilioSim
from balance_exporter.simulator.providers.youcom import YouComSim

SIMULATED: dict[str, SimProvider] = {
    sim.name: sim
    for sim in (TelnyxSim(), TwilioSim(), ClickatellSim(), YouComSim(), Telecom23Sim())
}
