"""Faithful stand-ins for the providers' balance APIs, served on loopback for tests and demos."""

from exporter.simulator.app import SimAccount, Simulator

__all__ = ["SimAccount", "Simulator"]
