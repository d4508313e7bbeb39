"""Helpers shared by the test modules: the tool-missing policy, the failure reasons of the metric
contract and reading an exposition."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import NoReturn

import pytest
from prometheus_client.parser import text_string_to_metric_families

# The values of billing_poll_failures_total's reason label, spelled out rather than read from
# exporter.errors.Reason, so that changing one breaks the tests of the metric contract.
FAILURE_REASONS = (
    "auth",
    "rate_limited",
    "server_error",
    "client_error",
    "timeout",
    "network",
    "invalid_response",
)


def unavailable(reason: str) -> NoReturn:
    """Skip for want of a tool or privilege, except under ``CI=true``, where it fails."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true it must be there")
    pytest.skip(reason)


def require_tool(name: str, package: str) -> str:
    """The path of a Debian tool: skip without it, fail under ``CI=true``."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (apt-get install {package})")
    return path


def metric_value(exposition: str, name: str, **labels: str) -> float | None:
    """The one sample ``name`` whose labels include ``labels``; None when there is none."""
    found = [
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    ]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


def htpasswd_hash(user: str, password: str) -> str:
    """The bcrypt hash ``htpasswd -nbBC 10`` prints for the user (a ``$2y$`` hash)."""
    htpasswd = require_tool("htpasswd", "apache2-utils")
    result = subprocess.run(  # noqa: S603 - a fixed tool with test-made arguments
        [htpasswd, "-nbBC", "10", user, password],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    name, _, hashed = result.stdout.strip().partition(":")
    assert name == user
    return hashed
