"""A real Prometheus scraping the demo exporter over TLS with basic auth.

The exporter runs as a real process with a ``--web.config.file`` holding a certificate made
by trustme and a bcrypt hash made by ``htpasswd -nbBC 10`` (the ``$2y$`` hashes operators
paste). Prometheus verifies the certificate against the test CA (``tls_config.ca_file``) and
sends the password from a ``password_file``: the target is up and every series of the metric
contract arrives. The same Prometheus scraping without the password, with a wrong one, or in
plain HTTP gets nothing: the target is down, with a 401 where credentials were the problem.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
import trustme
from prometheus_harness import (
    ExporterProcess,
    Prometheus,
    free_port,
    require_binary,
    scrape_job,
    wait_until,
)
from support import htpasswd_hash, write_tls_auth_web_config
from test_prometheus import CONTRACT, all_accounts_scraped, scraped_contract

pytestmark = pytest.mark.asyncio(loop_scope="module")

USER = "prometheus"
PASSWORD = "tls-scrape-Vq8r2LmX"
WRONG_PASSWORD = "tls-scrape-wrong-0Hc4"
FIRST_POLLS = 30.0  # seconds for every demo account's first poll to be scraped
SCRAPED = 15.0  # seconds for every job to have scraped the exporter at least once

# Jobs of the one Prometheus, all aimed at the same exporter.
WITH_PASSWORD = "tls-basic-auth"
NO_PASSWORD = "tls-no-password"
BAD_PASSWORD = "tls-wrong-password"
PLAIN_HTTP = "plain-http"


@dataclass
class Stack:
    exporter: ExporterProcess
    prometheus: Prometheus
    address: str
    hashed: str

    async def targets(self) -> dict[str, dict[str, Any]]:
        """Each job's one target, as Prometheus reports it."""
        found: dict[str, dict[str, Any]] = {}
        for target in await self.prometheus.targets():
            job = target["labels"]["job"]
            assert job not in found, f"two targets for {job}"
            found[job] = target
        return found


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    binary = require_binary("prometheus")
    hashed = htpasswd_hash(USER, PASSWORD)
    assert hashed.startswith("$2y$10$"), hashed
    workdir = tmp_path_factory.mktemp("prometheus-tls")

    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(str(workdir / "server.pem"))
    server.private_key_pem.write_to_path(str(workdir / "server-key.pem"))
    web_config = write_tls_auth_web_config(workdir, USER, hashed)

    address = f"127.0.0.1:{free_port()}"
    exporter = ExporterProcess(
        "--demo",
        "--web.config.file",
        str(web_config),
        "--web.listen-address",
        address,
        cwd=workdir,
    )
    scraper = workdir / "prometheus"
    tls = {"ca_file": str(scraper / "ca.pem")}
    jobs = [
        scrape_job(
            WITH_PASSWORD,
            [address],
            scheme="https",
            tls_config=tls,
            basic_auth={"username": USER, "password_file": str(scraper / "password")},
        ),
        scrape_job(NO_PASSWORD, [address], scheme="https", tls_config=tls),
        scrape_job(
            BAD_PASSWORD,
            [address],
            scheme="https",
            tls_config=tls,
            basic_auth={"username": USER, "password_file": str(scraper / "wrong-password")},
        ),
        scrape_job(PLAIN_HTTP, [address], scheme="http"),
    ]
    files: dict[str, str | bytes] = {
        "ca.pem": ca.cert_pem.bytes(),
        "password": PASSWORD + "\n",
        "wrong-password": WRONG_PASSWORD + "\n",
    }
    async with exporter:
        await exporter.output_matching(r"metrics:\s+https://127\.0\.0\.1:\d+/metrics$", 15.0)
        prometheus = Prometheus(scraper, jobs, files=files, binary=binary)
        async with prometheus:
            yield Stack(exporter, prometheus, address, hashed)
    assert exporter.returncode == 0  # SIGTERM: a clean stop
    # Nothing the exporter printed shows a credential or the TLS key.
    output = exporter.stdout + exporter.stderr
    for secret in (PASSWORD, WRONG_PASSWORD, hashed, hashed[7:]):
        assert secret not in output
    key_lines = server.private_key_pem.bytes().decode().splitlines()[1:-1]  # base64 body
    assert key_lines
    for line in key_lines:
        assert line not in output


async def test_every_contract_series_is_scraped_over_tls_with_basic_auth(stack: Stack) -> None:
    await all_accounts_scraped(stack.prometheus, WITH_PASSWORD)
    job = f'job="{WITH_PASSWORD}"'

    labels: dict[str, set[frozenset[str]]] = defaultdict(set)

    async def whole_contract() -> bool:
        labels.clear()
        for sample in await stack.prometheus.query(f'{{{job},__name__=~"billing_.*"}}'):
            assert sample.labels["instance"] == stack.address
            name = sample.labels["__name__"]
            labels[name].add(frozenset(sample.labels) - {"__name__", "job", "instance"})
        return set(labels) == scraped_contract()

    await wait_until(
        whole_contract,
        lambda: f"every contract metric; missing {sorted(scraped_contract() - set(labels))}",
        FIRST_POLLS,
    )
    for name, found in labels.items():
        assert found == {CONTRACT[name]}, name
    assert await stack.prometheus.value(f"up{{{job}}}") == 1
    assert (
        await stack.prometheus.value(f"billing_exporter_config_last_reload_successful{{{job}}}")
        == 1
    )

    target = (await stack.targets())[WITH_PASSWORD]
    assert (target["scrapeUrl"], target["health"], target["lastError"]) == (
        f"https://{stack.address}/metrics",
        "up",
        "",
    )


async def test_scrapes_without_the_right_password_or_without_tls_get_nothing(
    stack: Stack,
) -> None:
    refused = (NO_PASSWORD, BAD_PASSWORD, PLAIN_HTTP)
    targets: dict[str, dict[str, Any]] = {}

    async def each_job_scraped() -> bool:
        targets.update(await stack.targets())
        return all(
            targets.get(job, {}).get("lastScrape", "0001").startswith("20") for job in refused
        )

    await wait_until(each_job_scraped, lambda: f"a scrape by each job; {targets}", SCRAPED)

    for job in (NO_PASSWORD, BAD_PASSWORD):
        target = targets[job]
        assert (target["scrapeUrl"], target["health"], target["lastError"]) == (
            f"https://{stack.address}/metrics",
            "down",
            "server returned HTTP status 401 Unauthorized",
        ), job
    plain = targets[PLAIN_HTTP]
    assert (plain["scrapeUrl"], plain["health"]) == (f"http://{stack.address}/metrics", "down")
    assert plain["lastError"].startswith(f'Get "http://{stack.address}/metrics": ')
    for job in refused:
        assert await stack.prometheus.value(f'up{{job="{job}"}}') == 0, job
        assert await stack.prometheus.query(f'{{job="{job}",__name__=~"billing_.*"}}') == []
