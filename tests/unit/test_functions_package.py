"""A function folder packaged as ``sam build`` would: its files, its requirements installed by
pip (once, then from the cache), in a deterministic .zip file."""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from mysfits_lab import functions_package
from mysfits_lab.functions_package import PackagingError, deps_key, package


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip must not reach an index in these tests: every requirement is a local file."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")


def _names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def _function(root: Path) -> Path:
    folder = root / "function"
    (folder / "lib").mkdir(parents=True)
    (folder / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (folder / "lib" / "util.py").write_text("X = 1\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    (folder / "lib" / "old.pyc").write_bytes(b"\0")
    return folder


def _wheel(
    root: Path,
    name: str = "tinydep",
    version: str = "0.1",
    requires: tuple[str, ...] = (),
    script: str | None = None,
) -> Path:
    """A pure-Python wheel made by hand: pip installs it without a network or a build."""
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    files = {
        f"{name}/__init__.py": b"VALUE = 42\n",
        f"{name}-{version}.dist-info/METADATA": metadata.encode(),
        f"{name}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }

    def digest(data: bytes) -> str:
        encoded = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        return f"sha256={encoded.decode()}"

    if script:  # installed into bin/, outside the packages
        files[f"{name}-{version}.data/scripts/{script}"] = b"#!python\nprint(1)\n"
    record = "".join(f"{path},{digest(data)},{len(data)}\n" for path, data in files.items())
    record += f"{name}-{version}.dist-info/RECORD,,\n"
    path = root / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{name}-{version}.dist-info/RECORD", record)
    return path


def test_a_folder_without_requirements_is_its_own_files(tmp_path: Path):
    data = package(_function(tmp_path), cache_dir=tmp_path / "cache")
    assert _names(data) == ["app.py", "lib/util.py"]  # sorted, no bytecode


def test_the_zip_is_deterministic(tmp_path: Path):
    folder = _function(tmp_path)
    first = package(folder, cache_dir=tmp_path / "cache")
    (folder / "app.py").touch()  # a newer timestamp, the same content
    assert package(folder, cache_dir=tmp_path / "cache") == first
    infos = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    (folder / "app.py").write_text("def handler(e, c):\n    return 2\n")
    assert package(folder, cache_dir=tmp_path / "cache") != first


def test_an_empty_requirements_file_installs_nothing(tmp_path: Path, monkeypatch):
    folder = _function(tmp_path)
    (folder / "requirements.txt").write_text("# nothing yet\n\n")

    def no_pip(*args, **kwargs):
        raise AssertionError("pip ran for an empty requirements.txt")

    monkeypatch.setattr(subprocess, "run", no_pip)
    data = package(folder, cache_dir=tmp_path / "cache")
    assert _names(data) == ["app.py", "lib/util.py", "requirements.txt"]


def test_requirements_are_installed_next_to_the_code_then_cached(tmp_path: Path, monkeypatch):
    folder = _function(tmp_path)
    _wheel(folder)
    (folder / "requirements.txt").write_text("./tinydep-0.1-py3-none-any.whl\n")
    cache = tmp_path / "cache"

    data = package(folder, cache_dir=cache)
    names = _names(data)
    assert "tinydep/__init__.py" in names and "tinydep-0.1.dist-info/METADATA" in names
    assert zipfile.ZipFile(io.BytesIO(data)).read("tinydep/__init__.py") == b"VALUE = 42\n"
    assert (cache / deps_key(folder / "requirements.txt")).is_dir()

    def no_pip(*args, **kwargs):
        raise AssertionError("pip ran although the requirements are cached")

    monkeypatch.setattr(subprocess, "run", no_pip)
    assert package(folder, cache_dir=cache) == data


def test_the_cache_key_follows_the_requirements_and_the_python(tmp_path: Path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("a==1\n")
    key = deps_key(requirements)
    requirements.write_text("a==2\n")
    assert deps_key(requirements) != key
    changed = deps_key(requirements)
    monkeypatch.setattr(functions_package.sys.implementation, "cache_tag", "cpython-399")
    assert deps_key(requirements) != changed


def _tracer(root: Path) -> Path:
    """A tracing SDK that needs botocore, which needs jmespath (with a script): the X-Ray SDK's
    shape, as local wheels in a folder of their own (installed with --no-index: an index
    would offer real releases of the same names)."""
    wheels = root / "wheels"
    wheels.mkdir()
    _wheel(wheels, "tracer", requires=("botocore",))
    _wheel(wheels, "botocore", "1.0", requires=("jmespath",))
    _wheel(wheels, "jmespath", "1.0", script="jp.py")
    return wheels


def test_the_runtime_sdk_is_left_out_when_only_a_dependency_needs_it(tmp_path: Path):
    folder = _function(tmp_path)
    wheels = _tracer(tmp_path)
    (folder / "requirements.txt").write_text(f"--no-index\n--find-links {wheels}\ntracer\n")
    names = _names(package(folder, cache_dir=tmp_path / "cache"))
    assert "tracer/__init__.py" in names and "tracer-0.1.dist-info/METADATA" in names
    assert not [n for n in names if n.startswith(("botocore", "jmespath", "bin/"))]


def test_an_sdk_requirements_txt_names_stays_with_what_it_needs(tmp_path: Path):
    folder = _function(tmp_path)
    wheels = _tracer(tmp_path)
    (folder / "requirements.txt").write_text(
        f"--no-index\n--find-links {wheels}\ntracer\nbotocore==1.0\n"
    )
    names = _names(package(folder, cache_dir=tmp_path / "cache"))
    for kept in ("tracer/__init__.py", "botocore/__init__.py", "jmespath/__init__.py"):
        assert kept in names
    assert "bin/jp.py" in names


def test_the_cache_key_follows_what_the_runtime_provides(tmp_path: Path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("a==1\n")
    key = deps_key(requirements)
    monkeypatch.setattr(functions_package, "RUNTIME_SDK", frozenset({"boto3"}))
    assert deps_key(requirements) != key


def test_a_requirement_pip_cannot_install_is_named(tmp_path: Path):
    folder = _function(tmp_path)
    (folder / "requirements.txt").write_text("./nowhere\n")
    with pytest.raises(PackagingError) as raised:
        package(folder, cache_dir=tmp_path / "cache")
    message = str(raised.value)
    assert "pip could not install './nowhere'" in message
    assert "requirements.txt" in message
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []  # no half-installed folder


def test_a_missing_folder_is_an_error(tmp_path: Path):
    with pytest.raises(PackagingError, match="is not a folder"):
        package(tmp_path / "absent")


def test_a_script_is_found_in_bin_wherever_pip_recorded_it(tmp_path: Path):
    found = functions_package._installed_path
    assert found(tmp_path, "../../bin/jp.py") == tmp_path / "bin" / "jp.py"
    assert found(tmp_path, "../../../pip-target-x1/bin/jp.py") == tmp_path / "bin" / "jp.py"
    assert found(tmp_path, "jmespath/__init__.py") == tmp_path / "jmespath" / "__init__.py"
    assert found(tmp_path, "../../../elsewhere/lib/x.py") is None
