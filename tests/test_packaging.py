"""The wheel and the sdist carry the license, and the version is written in one place."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import flowdsl

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A wheel and an sdist built from the checkout by its own build backend."""
    pytest.importorskip("hatchling", reason="the build backend comes with the test extra")
    out = tmp_path_factory.mktemp("dist")
    script = (
        "import sys; from hatchling.build import build_sdist, build_wheel; "
        "print(build_wheel(sys.argv[1])); print(build_sdist(sys.argv[1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wheel, sdist = done.stdout.split()
    return {"wheel": out / wheel, "sdist": out / sdist}


@pytest.mark.slow  # builds a wheel and an sdist in a subprocess
def test_the_wheel_carries_the_license(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = wheel.namelist()
        license_name = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert b"MIT License" in wheel.read(license_name)
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    assert b"License-Expression: MIT" in metadata
    assert b"License-File: LICENSE" in metadata
    assert f"Version: {flowdsl.__version__}".encode() in metadata


@pytest.mark.slow  # builds a wheel and an sdist in a subprocess
def test_the_sdist_carries_the_license_and_the_changelog(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as sdist:
        names = {Path(n).relative_to(Path(n).parts[0]).as_posix() for n in sdist.getnames()}
    assert {"LICENSE", "CHANGELOG.md", "pyproject.toml", "flowdsl/__init__.py"} <= names


def test_the_version_is_written_once() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert f'version = "{flowdsl.__version__}"' not in pyproject
