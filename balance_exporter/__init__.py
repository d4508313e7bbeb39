"""balance-exporter: Prometheus exporter for provider balances and credit."""

__version__ = "0.1.0"
