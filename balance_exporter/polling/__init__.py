"""Polling: the scheduler, backoff, rate-limit headers, the transport and one poll."""
