"""The provider registry: every registered provider has every piece the suites need, and
third-party providers come in through the ``balance_exporter.providers`` entry points."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from provider_kit import CASE_TABLES, case_table, module_of

from balance_exporter.config.settings import settings_fields
from balance_exporter.demo import demo_accounts
from balance_exporter.providers.base import Provider
from balance_exporter.providers.registry import (
    BUILT_IN,
    ENTRY_POINT_GROUP,
    NOT_PROVIDERS,
    PluginError,
    describe_providers,
    load_plugins,
)
from balance_exporter.simulator.providers.registry import SIMULATED

ROOT = Path(__file__).parent.parent
SIMULATORS = ROOT / "balance_exporter" / "simulator" / "providers"
SCHEMAS = Path(__file__).parent / "schemas"


def apis() -> Iterator[tuple[str, str, str]]:
    """(provider, variant, case id) of every registered provider's every API."""
    for name, cls in BUILT_IN.items():
        for variant in cls.variants():
            yield name, variant, f"{name}-{variant}" if variant else name


def readme_rows() -> list[str]:
    """The first cells of the README's table of providers and their quirks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| provider | request | quirks handled |", 1)[1].split("\n\n", 1)[0]
    return [line.split("|")[1].strip() for line in table.splitlines()[2:]]


def missing_pieces() -> list[str]:
    """What a registered provider lacks, one line each; empty when all is there."""
    missing = []
    rows = readme_rows()
    demoed = {(account.provider, account.variant) for account, _ in demo_accounts().values()}
    for name, cls in BUILT_IN.items():
        module = module_of(name)
        if name not in SIMULATED or not (SIMULATORS / f"{module}.py").exists():
            missing.append(
                f"{name}: no simulator (balance_exporter/simulator/providers/{module}.py)"
            )
        table = case_table(name)
        if table is None:
            missing.append(f"{name}: no case table (tests/providers/test_{module}.py)")
        else:
            for attribute in ("APIS", "ANSWERS", "SIM_ANSWERS"):
                if not getattr(table, attribute, None):
                    missing.append(f"{name}: its case table has no {attribute}")
            if set(getattr(table, "APIS", {})) != set(cls.variants()):
                missing.append(
                    f"{name}: its case table's APIS are not its APIs {list(cls.variants())}"
                )
    for name, variant, case_id in apis():
        if (name, variant) not in demoed:
            missing.append(f"{case_id}: no demo account (its simulator's demo_accounts())")
        wanted = f"`{name}`" + (f" (`api: {variant}`" if variant else "")
        if not any(row.startswith(wanted) for row in rows):
            missing.append(f"{case_id}: no row in the README's table of providers")
        if not any(
            (SCHEMAS / f"{case_id}{suffix}").exists()
            for suffix in (".openapi.yaml", ".schema.json")
        ):
            missing.append(f"{case_id}: no schema (tests/schemas/{case_id}.schema.json)")
    return missing


def test_every_registered_provider_has_all_its_pieces() -> None:
    missing = missing_pieces()
    assert not missing, "registered providers lack:\n" + "\n".join(missing)


def test_a_provider_registers_itself_by_its_module() -> None:
    # Every module of the providers package but the shared ones is a provider, and so on for
    # the simulators: adding a provider edits no list.
    adapters = ROOT / "balance_exporter" / "providers"
    modules = {path.stem for path in adapters.glob("*.py")} - {"__init__", *NOT_PROVIDERS}
    assert {module_of(name) for name in BUILT_IN} == modules
    assert {type(sim).__module__.rsplit(".", 1)[-1] for sim in SIMULATED.values()} == modules


def test_the_listing_names_each_provider_and_its_apis_in_order() -> None:
    listed = {name: BUILT_IN[name] for name in ("youcom", "clickatell", "23telecom")}
    assert describe_providers(listed) == "23telecom, clickatell (rest, platform), youcom"


def test_every_case_table_belongs_to_a_registered_provider() -> None:
    modules = {module_of(name) for name in BUILT_IN}
    tables = {path.stem.removeprefix("test_") for path in CASE_TABLES.glob("test_*.py")}
    simulators = {path.stem for path in SIMULATORS.glob("*.py")} - {"__init__", "base", "registry"}
    assert tables == modules
    assert simulators == modules


def test_the_readme_lists_every_provider_in_the_account_keys() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (line,) = [row for row in text.splitlines() if row.startswith("| `provider` | yes |")]
    assert sorted(re.findall(r"`([^`]+)`", line.split("|")[3])) == sorted(BUILT_IN)


def test_the_readme_gives_every_providers_keys_and_names_its_secrets() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| provider | keys |", 1)[1].split("\n\n", 1)[0]
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    (secrets_line,) = [line for line in text.split("\n\n") if line.startswith("Secrets (")]
    missing = []
    for name, cls in BUILT_IN.items():
        row = rows.get(f"`{name}`")
        for spec in settings_fields(cls.settings_type):
            if row is None or f"`{spec.name}`" not in row:
                missing.append(f"{name}: key {spec.name} not in the README's provider keys")
            if spec.secret and f"`{spec.name}`" not in secrets_line.split(")")[0]:
                missing.append(f"{name}: secret {spec.name} not in the README's Secrets line")
    assert not missing, "\n".join(missing)


# --- third-party providers -----------------------------------------------------------------------

PLUGIN_MODULE = """
from dataclasses import dataclass

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.providers.base import Provider, Request, Response
from balance_exporter.providers.shared.parsing import amount, mapping


@dataclass(frozen=True, kw_only=True)
class AcmeSettings(ProviderSettings):
    token: Secret = secret()


class Acme(Provider[AcmeSettings]):
    name = "acme"
    default_base_url = "https://api.acme.example"
    settings_type = AcmeSettings

    def request(self) -> Request:
        return Request(f"{self.base_url}/credit", {"X-Token": self.settings.token.reveal()})

    def parse(self, response: Response) -> Reading:
        credit = mapping(response.json(), "response").get("credit")
        return Reading(currency="EUR", balance=amount(credit, "credit"))


class Named(Acme):
    name = "other"


class Unfinished(Provider[AcmeSettings]):
    name = "unfinished"
    default_base_url = "https://api.acme.example"
    settings_type = AcmeSettings

    def request(self) -> Request:
        return Request(self.base_url)


NOT_A_CLASS = 42
"""


def distribution(root: Path, points: dict[str, str], name: str = "acme-balance") -> Path:
    """A distribution installed in ``root``: its module and a .dist-info with entry points."""
    (root / "acme_balance.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    info = root / f"{name.replace('-', '_')}-1.2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.0\n")
    entries = "".join(f"{key} = {value}\n" for key, value in points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entries}", encoding="utf-8")
    return root


def found(root: Path) -> list[importlib.metadata.EntryPoint]:
    return [
        point
        for dist in importlib.metadata.distributions(path=[str(root)])
        for point in dist.entry_points
        if point.group == ENTRY_POINT_GROUP
    ]


@pytest.fixture
def importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("acme_balance", None)


def test_a_plugin_adds_its_provider(importable: Path) -> None:
    providers = load_plugins(found(distribution(importable, {"acme": "acme_balance:Acme"})))
    assert set(providers) == {*BUILT_IN, "acme"}
    assert issubclass(providers["acme"], Provider)
    assert providers["acme"].__module__ == "acme_balance"


@pytest.mark.parametrize(
    ("name", "target", "problem"),
    [
        ("twilio", "acme_balance:Acme", "'twilio' is built in and cannot be replaced"),
        ("acme", "acme_balance:Named", "its class says name = 'other'; it must be 'acme'"),
        ("acme", "acme_balance:NOT_A_CLASS", "is not a balance_exporter.providers.base.Provider"),
        ("acme", "acme_balance:Missing", "cannot be loaded: AttributeError:"),
        ("acme", "no_such_module:Acme", "cannot be loaded: ModuleNotFoundError:"),
        ("unfinished", "acme_balance:Unfinished", "leaves abstract methods unimplemented: parse"),
        ("Bad Name", "acme_balance:Acme", "the name must be lower case letters, digits, - or _"),
    ],
)
def test_a_broken_or_clashing_plugin_is_one_line_naming_its_distribution(
    importable: Path, name: str, target: str, problem: str
) -> None:
    with pytest.raises(PluginError) as caught:
        load_plugins(found(distribution(importable, {name: target})))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"provider plugin {name!r} from distribution acme-balance 1.2.0 ({target}): "
    )
    assert problem in message


def test_two_plugins_cannot_take_one_name(
    importable: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = found(distribution(importable, {"acme": "acme_balance:Acme"}))
    other = tmp_path_factory.mktemp("other")
    second = found(distribution(other, {"acme": "acme_balance:Acme"}, name="acme-fork"))
    with pytest.raises(PluginError, match="'acme' is already provided by another plugin"):
        load_plugins([*first, *second])


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The exporter as a process that finds the distributions in ``root`` on its path."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "balance_exporter", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_the_exporter_polls_a_plugin_provider_as_configured(tmp_path: Path) -> None:
    root = distribution(tmp_path, {"acme": "acme_balance:Acme"})
    config = root / "config.yml"
    config.write_text("accounts:\n  - {name: widgets, provider: acme, token: acme-canary-5521}\n")
    result = run_cli(root, "--config.file", str(config), "--config.check")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        f"{config}: OK, 1 account(s)",
        "  widgets: acme every 5m",
        f"providers: {describe_providers({**BUILT_IN, 'acme': BUILT_IN['telnyx']})}",  # no APIs
    ]
    # Its keys are checked like any provider's.
    config.write_text("accounts:\n  - {name: widgets, provider: acme, tokn: x}\n")
    result = run_cli(root, "--config.file", str(config), "--config.check")
    assert result.returncode == 2
    assert (
        "unknown key 'tokn' (allowed: name, provider, interval, timeout, base_url, "
        in result.stderr
    )


def test_a_broken_plugin_stops_the_exporter_with_one_line(tmp_path: Path) -> None:
    root = distribution(tmp_path, {"acme": "acme_balance:Missing"})
    result = run_cli(root, "--demo", "--once")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        textwrap.shorten(result.stderr, 10_000)  # one line, whatever it says
    ]
    assert result.stderr.startswith(
        "provider plugin 'acme' from distribution acme-balance 1.2.0 (acme_balance:Missing): "
        "cannot be loaded: AttributeError"
    )
    assert "Traceback" not in result.stderr
