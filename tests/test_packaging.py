"""A non-editable install (the Docker image runs `pip install .`) must carry every module."""

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parent.parent


def test_every_python_directory_is_packaged() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    include = config["packages"]["find"]["include"]
    packaged = set(find_namespace_packages(where=str(ROOT), include=include))
    wanted = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for top in ("app", "migrations")
        for path in (ROOT / top).rglob("*.py")
    }
    assert wanted, "no modules found"
    assert wanted <= packaged, f"left out of the package: {sorted(wanted - packaged)}"


def test_every_data_file_is_packaged() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["app"]
    app = ROOT / "app"
    files = {
        path.relative_to(app)
        for path in app.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    }
    assert files, "no data files found"
    missing = {f for f in files if not any(f.match(pattern) for pattern in package_data)}
    assert not missing, f"left out of the package: {sorted(map(str, missing))}"
