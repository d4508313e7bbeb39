"""Metrics: readings, the immutable snapshot, the metric contract and the cached bodies."""
