"""Fixtures shared by the unit tests: aioresponses mocking and an exporter HTTP session."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from balance_exporter.polling.transport import new_session

# The providers' case tables are imported by name (test_telnyx) by the registry-wide suites.
sys.path.insert(0, str(Path(__file__).parent / "providers"))


class MockResponse(aiohttp.ClientResponse):
    """aioresponses builds responses without the ``stream_writer`` newer aiohttp requires."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", Mock(output_size=0))
        super().__init__(method, url, **kwargs)


@pytest.fixture
def http() -> Iterator[Any]:
    with aioresponses() as mocked:
        yield mocked


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_session() as client:
        yield client


# --- Tables a test prints at the end of the run (the fault matrix) ---------------------------

_REPORT_TABLES = pytest.StashKey[dict[str, list[str]]]()


@pytest.fixture
def report_table(request: pytest.FixtureRequest) -> dict[str, list[str]]:
    """Title -> lines; whatever a test puts here is printed in the terminal summary."""
    return request.config.stash.setdefault(_REPORT_TABLES, {})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for title, lines in terminalreporter.config.stash.get(_REPORT_TABLES, {}).items():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
