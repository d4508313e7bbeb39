"""Faithful stand-ins for the providers' balance APIs, served on loopback for tests and demos."""

from exporter.simulator.accounts import SimAccount
from exporter.simulator.app import RateLimit, Simulator
from exporter.simulator.responses import FAULTS

__all__ = ["FAULTS", "RateLimit", "SimAccount", "Simulator"]
