"""The distributions: the sdist and the wheel build offline from a copy of the repository and
pass ``twine check --strict`` (their metadata and the README as PyPI renders it); the wheel
ships the license, the PEP 561 marker and the command; the metadata names the license, real
trove classifiers and the project's URLs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
import trove_classifiers

from balance_exporter import __version__

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "test-artifacts",
)
BUILD_DEADLINE = 300  # seconds for both distributions on a slow machine
DIST = f"balance_exporter-{__version__}"


def run(*args: str | Path, cwd: Path) -> str:
    result = subprocess.run(  # noqa: S603 - this interpreter, with our own files
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=BUILD_DEADLINE,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel built from it, as ``python -m build`` makes them, offline: the
    build backend of this environment, no download (a copy, so the work tree stays clean)."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCES)
    out = root / "dist"
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source, cwd=root)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def test_twine_check_passes_on_the_sdist_and_the_wheel(distributions: dict[str, Path]) -> None:
    paths = [distributions["sdist"], distributions["wheel"]]
    output = run(sys.executable, "-m", "twine", "check", "--strict", *paths, cwd=REPO)
    assert output.count("PASSED") == 2, output


def test_the_wheel_ships_the_license_the_type_marker_and_the_command(
    distributions: dict[str, Path],
) -> None:
    with zipfile.ZipFile(distributions["wheel"]) as wheel:
        names = set(wheel.namelist())
        license_text = wheel.read(f"{DIST}.dist-info/licenses/LICENSE")
        entry_points = wheel.read(f"{DIST}.dist-info/entry_points.txt").decode()
        metadata = HeaderParser().parsestr(wheel.read(f"{DIST}.dist-info/METADATA").decode())
    assert license_text == (REPO / "LICENSE").read_bytes()
    assert "balance_exporter/py.typed" in names
    assert "balance_exporter/metrics/process.py" in names  # every subpackage is found
    assert not any(name.startswith(("tests/", "bench/", "deploy/")) for name in names)
    assert "balance-exporter = balance_exporter.cli:main" in entry_points
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Description-Content-Type"] == "text/markdown"


def test_the_sdist_holds_what_a_rebuild_and_a_reader_need(distributions: dict[str, Path]) -> None:
    with tarfile.open(distributions["sdist"]) as sdist:
        names = {name.removeprefix(f"{DIST}/") for name in sdist.getnames()}
    assert {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "balance_exporter/py.typed",
    } <= names


def test_the_license_is_the_apache_2_0_text() -> None:
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text
    assert len(text.splitlines()) == 202  # the text as the Apache Software Foundation gives it


def test_the_metadata_has_real_classifiers_and_the_project_urls() -> None:
    project = PYPROJECT["project"]
    classifiers = project["classifiers"]
    assert [c for c in classifiers if c not in trove_classifiers.classifiers] == []
    assert not [c for c in classifiers if c.startswith("License ::")]  # the expression says it
    assert "Typing :: Typed" in classifiers
    python = project["requires-python"].removeprefix(">=")
    assert f"Programming Language :: Python :: {python}" in classifiers
    assert {"Homepage", "Source", "Issues", "Changelog"} <= set(project["urls"])
    assert all(url.startswith("https://") for url in project["urls"].values())
