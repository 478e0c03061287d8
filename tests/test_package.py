"""Package boundaries, and a wheel that carries everything the package needs at run time."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The repo folder ``providers/`` installs as this package (``package-dir`` in pyproject.toml).
ADAPTERS = "social_auth_providers"
FLASK_MODULES = {
    "views.py", "session.py", "admin.py", "cli.py", "extension.py", "testing.py", "site.py",
    "state.py",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def core_files() -> list[Path]:
    return sorted((ROOT / "social_auth").rglob("*.py"))


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_never_imports_the_provider_adapters(path: Path):
    assert not {m for m in imported_modules(path) if m.split(".")[0] in (ADAPTERS, "providers")}


def our_python_files() -> list[Path]:
    folders = ("social_auth", "providers", "tests", "examples", "benchmarks")
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", our_python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_imports_the_adapters_by_their_folder_name(path: Path):
    # providers/ is on sys.path when running from the checkout; importing it by that name would
    # load a second copy of every adapter next to the installed social_auth_providers.
    assert not {m for m in imported_modules(path) if m.split(".")[0] == "providers"}


def test_every_package_folder_is_in_the_pyproject_package_list():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "social_auth").rglob("__init__.py")
    } | {ADAPTERS}
    assert config["package-dir"][ADAPTERS] == "providers"
    assert set(config["packages"]) == on_disk


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_flask_layer_imports_flask(path: Path):
    if path.name in FLASK_MODULES and path.parent.name == "social_auth":
        return
    if path.parent.name == "web" and path.parent.parent.name == "social_auth":
        return  # the Flask layer's internals
    assert not {m for m in imported_modules(path) if m.split(".")[0] == "flask"}


@pytest.mark.parametrize("path", sorted((ROOT / "providers").glob("*.py")), ids=lambda p: p.name)
def test_adapters_import_only_the_provider_base_profile_and_errors(path: Path):
    ours = {m for m in imported_modules(path) if m.split(".")[0] == "social_auth"}
    assert ours <= {"social_auth.provider", "social_auth.profile", "social_auth.errors"}


def test_the_profile_module_imports_only_the_standard_library_and_errors():
    path = ROOT / "social_auth" / "profile.py"
    imported = {m.split(".")[0] for m in imported_modules(path)} - {"__future__"}
    assert imported <= set(sys.stdlib_module_names)
    relative = {
        node.module
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level
    }
    assert relative <= {"errors"}


def test_importing_social_auth_loads_no_adapter():
    code = (
        "import sys, social_auth;"
        f"print(any(m.split('.')[0] in ({ADAPTERS!r}, 'providers') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_the_wheel_ships_templates_migrations_and_type_marker(tmp_path: Path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("flask_social_auth-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "social_auth/py.typed" in names and f"{ADAPTERS}/py.typed" in names
    assert not any(n.startswith("providers/") for n in names)
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "social_auth").rglob("*.py")}
    sources |= {f"{ADAPTERS}/{p.name}" for p in (ROOT / "providers").glob("*.py")}
    assert sources <= names
    assert "social_auth/store/migrations/env.py" in names
    assert any(n.startswith("social_auth/store/migrations/versions/0001") for n in names)
    assert any(n.startswith("social_auth/templates/social_auth/") for n in names)
    assert "social_auth/static/social_auth/icons/google.svg" in names
    # The wheel alone (zip import, from a folder without the source tree) is importable.
    code = (
        f"import sys; sys.path.insert(0, {str(wheel)!r});"
        f"import social_auth, {ADAPTERS}.dev; print(social_auth.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert str(wheel) in out.stdout
