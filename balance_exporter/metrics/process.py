"""The process's own figures, from prometheus_client: its process collector (CPU seconds,
memory, open and allowed files, start time; nothing where there is no /proc) and its
garbage-collector counts, which show what the raised collection thresholds save at scale.
Its platform collector is left out: ``python_info`` would repeat the Python version that
``billing_exporter_build_info`` carries.

These figures change all the time, unlike the snapshot: the renderer renders them again on
their own every LIVE_EVERY seconds (see renderer.py), never on a scrape.
"""

from __future__ import annotations

from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

LIVE_EVERY = 1.0  # seconds between two renderings of the process's figures


def process_collectors() -> tuple[Collector, ...]:
    """The collectors, kept off prometheus_client's global registry (the GC collector
    registers itself with the registry it is given: a throwaway one)."""
    return (ProcessCollector(registry=None), GCCollector(registry=CollectorRegistry()))
