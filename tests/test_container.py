"""The container image, built and run for real.

The Dockerfile is built with buildah from a Debian base made by debootstrap (python3,
python3-venv and ca-certificates, nothing else), passed as ``BASE_IMAGE``; then the image's
entrypoint runs in the built filesystem, and the test checks what an operator relies on:
``/-/healthy``, the demo's ``/metrics``, the image's healthcheck command, a clean stop on
SIGTERM, and that the serving process runs as the image's non-root user.

Needs root, buildah and (for the first run on a machine) debootstrap, from Debian's packages;
``.ci/run`` installs them. Without them the tests skip, except under ``CI=true``, where they
fail. The debootstrap root filesystem is cached under ``/var/cache/balance-exporter-test`` (or
``$BALANCE_EXPORTER_TEST_CACHE``); every container and image the tests create is removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_harness import free_port
from support import unavailable

from balance_exporter.demo import demo_accounts
from balance_exporter.providers.registry import BUILT_IN, describe_providers

REPO = Path(__file__).resolve().parent.parent
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
SUITE = "bookworm"
VARIANT = "minbase"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
MIRROR = os.environ.get("BALANCE_EXPORTER_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE = Path(os.environ.get("BALANCE_EXPORTER_TEST_CACHE", "/var/cache/balance-exporter-test"))
CACHE_MAX_AGE = 30 * 24 * 3600.0  # then debootstrap again, for Debian's updates

# What the Dockerfile promises.
ENTRYPOINT = ["balance-exporter"]
CMD = ["--config.file=/etc/balance-exporter/config.yml"]
USER = "10001:10001"
HEALTHCHECK_ENV = "BALANCE_EXPORTER_HEALTHCHECK_URL"
VENV_PYTHON = "/opt/balance-exporter/bin/python"

# Generous: debootstrap and pip download from the package registries.
DEBOOTSTRAP_TIMEOUT = 1800.0
BUILD_TIMEOUT = 1800.0
STEP_TIMEOUT = 600.0
START_TIMEOUT = 120.0

Say = Callable[[str], None]


@pytest.fixture(scope="module")
def say(pytestconfig: pytest.Config) -> Say:
    """Progress lines on the terminal, past pytest's capture: the build takes minutes."""
    plugins = pytestconfig.pluginmanager
    capture, terminal = plugins.getplugin("capturemanager"), plugins.getplugin("terminalreporter")
    started = time.monotonic()

    def emit(message: str) -> None:
        line = f"[container test {time.monotonic() - started:5.1f}s] {message}"
        if capture is None or terminal is None:
            print(line, file=sys.stderr, flush=True)
            return
        with capture.global_and_fixture_disabled():
            terminal.write_line(line)

    return emit


def _run(args: Sequence[str], what: str, timeout: float) -> str:
    """Run a command to completion; fail with the end of its output if it does not succeed."""
    try:
        done = subprocess.run(  # noqa: S603
            list(args), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what}: no result within {timeout:.0f}s: {' '.join(args)}")
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        pytest.fail(f"{what} failed (exit {done.returncode}): {' '.join(args)}\n{tail}")
    return done.stdout


def _debootstrap_rootfs(say: Say) -> Path:
    """The base root filesystem, from the cache or made now (once per machine and month)."""
    key = hashlib.sha256(repr((SUITE, VARIANT, PACKAGES, MIRROR)).encode()).hexdigest()[:12]
    rootfs = CACHE / f"{SUITE}-{VARIANT}-{key}"
    stamp = CACHE / f"{rootfs.name}.done"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one debootstrap at a time on this machine
        fresh = stamp.exists() and time.time() - stamp.stat().st_mtime < CACHE_MAX_AGE
        if fresh and rootfs.is_dir():
            say(f"base root filesystem cached at {rootfs}")
            return rootfs
        debootstrap = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin")
        if debootstrap is None:
            unavailable("debootstrap is not installed (apt-get install debootstrap)")
        partial = CACHE / f"{rootfs.name}.partial"
        for stale in (partial, rootfs):
            shutil.rmtree(stale, ignore_errors=True)
        stamp.unlink(missing_ok=True)
        say(f"debootstrap {SUITE} ({', '.join(PACKAGES)}) into {rootfs}: a minute or two")
        _run(
            [
                debootstrap,
                f"--variant={VARIANT}",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(partial),
                MIRROR,
            ],
            "debootstrap",
            DEBOOTSTRAP_TIMEOUT,
        )
        partial.rename(rootfs)
        stamp.touch()
        say("debootstrap done")
        return rootfs


@dataclass(frozen=True)
class Image:
    buildah: str
    name: str
    config: dict[str, Any]  # the Docker image config: Entrypoint, Cmd, User, Healthcheck...


@pytest.fixture(scope="module")
def image(say: Say) -> Iterator[Image]:
    """The Dockerfile built by buildah on the debootstrap base; removed afterwards."""
    if os.geteuid() != 0:
        unavailable("building the container image needs root (buildah, debootstrap)")
    buildah = shutil.which("buildah")
    if buildah is None:
        unavailable("buildah is not installed (apt-get install buildah)")
    rootfs = _debootstrap_rootfs(say)
    suffix = uuid.uuid4().hex[:12]
    base = f"localhost/balance-exporter-test-base:{suffix}"
    name = f"localhost/balance-exporter-test:{suffix}"
    try:
        say(f"importing the base root filesystem as {base}")
        working = _run([buildah, "from", "scratch"], "buildah from scratch", STEP_TIMEOUT).strip()
        try:
            mountpoint = _run([buildah, "mount", working], "buildah mount", STEP_TIMEOUT).strip()
            _run(["cp", "-a", f"{rootfs}/.", mountpoint], "copying the base", STEP_TIMEOUT)
            _run([buildah, "umount", working], "buildah umount", STEP_TIMEOUT)
            _run([buildah, "commit", "--quiet", working, base], "buildah commit", STEP_TIMEOUT)
        finally:
            subprocess.run([buildah, "rm", working], capture_output=True, check=False)  # noqa: S603
        say(f"buildah bud {name} (pip downloads the dependencies): a minute or so")
        _run(
            [
                buildah,
                "bud",
                "--isolation",
                "chroot",
                "--network",
                "host",
                "--format",
                "docker",  # the OCI format has no HEALTHCHECK
                "--pull=never",
                "--volume",
                f"{CA_BUNDLE}:{CA_BUNDLE}:ro",
                "--build-arg",
                f"BASE_IMAGE={base}",
                "--tag",
                name,
                "--file",
                str(REPO / "Dockerfile"),
                str(REPO),
            ],
            "buildah bud",
            BUILD_TIMEOUT,
        )
        inspected = json.loads(
            _run([buildah, "inspect", "--type", "image", name], "buildah inspect", STEP_TIMEOUT)
        )
        say("image built")
        yield Image(buildah, name, inspected["Docker"]["config"])
    finally:
        subprocess.run(  # noqa: S603
            [buildah, "rmi", "--force", name, base], capture_output=True, check=False
        )
        say("test images removed")


@pytest.fixture
def container(image: Image) -> Iterator[str]:
    """A working container of the image: its filesystem, its user, its environment."""
    working = _run(
        [image.buildah, "from", "--pull=never", image.name], "buildah from", STEP_TIMEOUT
    ).strip()
    try:
        yield working
    finally:
        subprocess.run(  # noqa: S603
            [image.buildah, "rm", working], capture_output=True, check=False
        )


def _in_container(
    image: Image, container: str, *args: str, options: Sequence[str] = ()
) -> list[str]:
    """``buildah run``: the container's root filesystem, user and environment."""
    run = [image.buildah, "run", "--isolation", "chroot", "--network", "host", *options]
    return [*run, container, "--", *args]


def test_image_config(image: Image) -> None:
    config = image.config
    assert config["Entrypoint"] == ENTRYPOINT
    assert config["Cmd"] == CMD
    assert config["ExposedPorts"] == {"9877/tcp": {}}
    assert config["User"] == USER
    uid, gid = (int(part) for part in config["User"].split(":"))
    assert (uid != 0, gid != 0) == (True, True)
    healthcheck = config["Healthcheck"]
    assert healthcheck["Test"][:3] == ["CMD", VENV_PYTHON, "-c"]
    assert "curl" not in " ".join(healthcheck["Test"])
    assert f"{HEALTHCHECK_ENV}=http://127.0.0.1:9877/-/healthy" in config["Env"]
    assert (healthcheck["Interval"], healthcheck["Timeout"], healthcheck["Retries"]) == (
        30_000_000_000,
        5_000_000_000,
        3,
    )


def test_default_command_reads_the_config_file(
    image: Image, container: str, tmp_path: Path
) -> None:
    """ENTRYPOINT + CMD find a configuration mounted at the documented path, as the user."""
    config = tmp_path / "config.yml"
    config.write_text("accounts:\n  - {name: sms-eu, provider: telnyx, api_key: KEY-canary-4471}\n")
    config.chmod(0o644)
    command = _in_container(
        image,
        container,
        *image.config["Entrypoint"],
        *image.config["Cmd"],
        "--config.check",
        options=["--volume", f"{config}:/etc/balance-exporter/config.yml:ro"],
    )
    done = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False
    )
    assert (done.returncode, done.stdout) == (
        0,
        "/etc/balance-exporter/config.yml: OK, 1 account(s)\n  sms-eu: telnyx every 5m\n"
        f"providers: {describe_providers(BUILT_IN)}\n",
    ), done.stderr
    assert "KEY-canary-4471" not in done.stderr


def _get(url: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:  # not listening yet
        return 0, ""


def _listener_pids(port: int) -> set[int]:
    """The processes holding a socket that listens on 127.0.0.1:port, from /proc."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if local == f"0100007F:{port:04X}" and state == "0A":
            inodes.add(f"socket:[{inode}]")
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                pids.add(int(proc.name))
        except OSError:  # gone, or not ours to read
            continue
    return pids


def _status(pid: int) -> dict[str, list[str]]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.split() for key, _, value in (line.partition(":") for line in lines)}


def _ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        pid = int(_status(pid)["PPid"][0])
        chain.append(pid)
    return chain


def _wait_for(condition: Callable[[], bool], what: str, alive: subprocess.Popen[bytes]) -> None:
    """Poll until the condition holds; fail at the deadline or when the process ends."""
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        if alive.poll() is not None:
            pytest.fail(f"the exporter exited ({alive.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {START_TIMEOUT:.0f}s")
        time.sleep(0.1)


def test_entrypoint_serves_the_demo_as_the_non_root_user(
    image: Image, container: str, tmp_path: Path, say: Say
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    healthcheck = _in_container(
        image,
        container,
        *image.config["Healthcheck"]["Test"][1:],
        options=["--env", f"{HEALTHCHECK_ENV}={base}/-/healthy"],
    )
    command = _in_container(
        image,
        container,
        *image.config["Entrypoint"],
        "--demo",
        "--web.listen-address",
        f"127.0.0.1:{port}",
    )
    log = tmp_path / "exporter.log"
    say(f"running the image's entrypoint on {base}")
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        _wait_for(lambda: _get(f"{base}/-/ready")[0] == 200, "/-/ready", process)
        assert _get(f"{base}/-/healthy")[0] == 200

        # Every demo account is served, with the demo's fixed balances.
        status, exposition = _get(f"{base}/metrics")
        assert status == 200
        samples = [
            sample
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples
        ]
        up = {s.labels["account"] for s in samples if s.name == "billing_up"}
        assert up == set(demo_accounts())
        balances = {
            (s.labels["provider"], s.labels["account"], s.labels["currency"]): s.value
            for s in samples
            if s.name == "billing_balance"
        }
        assert balances[("twilio", "voice", "USD")] == 84.27
        assert balances[("telnyx", "sms-us", "USD")] == -154.29  # a credit account

        # The process serving the port is ours, in the image's filesystem, as the image's user.
        (pid,) = _listener_pids(port)
        assert process.pid in _ancestors(pid)
        assert os.readlink(f"/proc/{pid}/root") != "/"
        assert Path(f"/proc/{pid}/root{VENV_PYTHON}").exists()
        assert not Path(VENV_PYTHON).exists()  # the host has no such venv
        ids = _status(pid)
        uid, gid = image.config["User"].split(":")
        assert (ids["Uid"], ids["Gid"]) == ([uid] * 4, [gid] * 4)
        assert uid != "0"

        # The image's own healthcheck command passes while it serves.
        check = subprocess.run(  # noqa: S603
            healthcheck, capture_output=True, timeout=STEP_TIMEOUT, check=False
        )
        assert check.returncode == 0, check.stderr

        # SIGTERM (what `docker stop` sends) stops it cleanly.
        os.kill(pid, signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        for leftover in _listener_pids(port):
            os.kill(leftover, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=60)
    assert 'msg="shutting down"' in log.read_text()

    # And the healthcheck fails once nothing answers.
    check = subprocess.run(  # noqa: S603
        healthcheck, capture_output=True, timeout=STEP_TIMEOUT, check=False
    )
    assert check.returncode == 1, check.stderr
