"""Faithful stand-ins for the providers' balance APIs, served on loopback for tests and demos."""

from balance_exporter.simulator.accounts import SimAccount
from balance_exporter.simulator.app import RateLimit, Simulator
from balance_exporter.simulator.faults import FAULTS

__all__ = ["FAULTS", "RateLimit", "SimAccount", "Simulator"]
