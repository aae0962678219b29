"""service_bundle: build context, source zip, Dockerfile parsing; plus the buildspec's commands."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from mysfits_lab import paths, service_bundle
from mysfits_lab.localcloud.images import ImageStore
from mysfits_lab.service_bundle import (
    build_context,
    source_zip,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SERVICE_DIR = PROJECT_ROOT / "assets" / "service"
MODULE2_CATALOGUE = PROJECT_ROOT / "data" / "mysfits-response.json"
SERVICE_CMD = ["python", "-m", "mysfits_service"]


def small_catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"mysfits": [{"mysfitId": "x", "name": "X"}]}), encoding="utf-8")
    return path


def test_project_root_is_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYSFITS_LAB_ROOT", raising=False)
    assert paths.project_root() == PROJECT_ROOT
    assert service_bundle.default_catalogue() == MODULE2_CATALOGUE


def test_build_context_copies_service_and_default_catalogue(tmp_path: Path) -> None:
    dest = build_context(tmp_path / "ctx")
    assert dest == tmp_path / "ctx"
    for name in ("Dockerfile", "requirements.txt", "buildspec.yml"):
        assert (dest / name).read_bytes() == (SERVICE_DIR / name).read_bytes()
    for name in ("mysfits_service.py", "backends.py", "settings.json"):
        assert (dest / "app" / name).read_bytes() == (SERVICE_DIR / "app" / name).read_bytes()
    assert (dest / "app" / "catalogue.json").read_bytes() == MODULE2_CATALOGUE.read_bytes()
    assert not list(dest.rglob("__pycache__"))


def test_build_context_with_own_catalogue(tmp_path: Path) -> None:
    catalogue = small_catalogue(tmp_path)
    dest = build_context(tmp_path / "ctx", catalogue)
    written = json.loads((dest / "app" / "catalogue.json").read_text(encoding="utf-8"))
    assert written == {"mysfits": [{"mysfitId": "x", "name": "X"}]}


def test_build_context_rejects_a_non_catalogue(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"items": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="mysfits"):
        build_context(tmp_path / "ctx", bad)
    assert not (tmp_path / "ctx").exists()  # nothing half-built


def test_root_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "elsewhere"
    (root / "assets" / "service" / "app").mkdir(parents=True)
    (root / "assets" / "service" / "Dockerfile").write_text('CMD ["true"]\n', encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "mysfits-response.json").write_text('{"mysfits": []}', encoding="utf-8")
    monkeypatch.setenv("MYSFITS_LAB_ROOT", str(root))
    dest = build_context(tmp_path / "ctx")
    assert (dest / "Dockerfile").read_text(encoding="utf-8") == 'CMD ["true"]\n'
    assert (dest / "app" / "catalogue.json").read_text(encoding="utf-8") == '{"mysfits": []}'


def test_source_zip_is_the_context_and_deterministic(tmp_path: Path) -> None:
    catalogue = small_catalogue(tmp_path)
    data = source_zip(catalogue)
    assert data == source_zip(catalogue)  # same content, same bytes (no timestamps)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {"Dockerfile", "buildspec.yml", "requirements.txt"} <= set(names)
        assert {"app/mysfits_service.py", "app/backends.py", "app/catalogue.json"} <= set(names)
        assert not any("__pycache__" in n for n in names)
        assert json.loads(archive.read("app/catalogue.json"))["mysfits"][0]["mysfitId"] == "x"
    assert source_zip() != data  # the default catalogue is different content


def test_service_image_runs_the_service_as_a_non_root_user(tmp_path: Path) -> None:
    image = ImageStore(tmp_path / "images").build(build_context(tmp_path / "ctx"))
    assert image.base_image is not None and image.base_image.startswith("python:3.12-slim")
    assert image.workdir == "/app"
    # The source's settings.json picks the backend; an ENV would override module 3's change.
    assert not {"MYSFITS_BACKEND", "MYSFITS_TABLE"} & set(image.env)
    settings = image.host_path(image.workdir) / "settings.json"
    assert json.loads(settings.read_text(encoding="utf-8")) == {
        "backend": "catalogue",
        "table": "MysfitsTable",
    }
    assert image.command() == SERVICE_CMD
    assert image.exposed_ports == [8080]
    assert image.user not in (None, "root", "0")
    assert image.healthcheck is not None and "http://127.0.0.1:8080/" in " ".join(image.healthcheck)
    assert (image.host_path(image.workdir) / "mysfits_service.py").is_file()
    assert (image.host_path(image.workdir) / "catalogue.json").is_file()


def test_requirements_pins_match_the_lab_environment() -> None:
    pins = {}
    for line in (SERVICE_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            pins[name.lower()] = pinned
    assert set(pins) == {"flask", "flask-cors", "waitress", "boto3"}
    for name, pinned in pins.items():
        assert pinned == version(name), name


def test_buildspec_logs_in_builds_pushes_and_writes_imagedefinitions(tmp_path: Path) -> None:
    spec = yaml.safe_load((SERVICE_DIR / "buildspec.yml").read_text(encoding="utf-8"))
    assert str(spec["version"]) == "0.2"
    assert spec["artifacts"]["files"] == ["imagedefinitions.json"]
    text = (SERVICE_DIR / "buildspec.yml").read_text(encoding="utf-8")
    assert "REPLACE_ME" not in text and "get-login " not in text

    # Run the phases in bash with recording stand-ins for aws and docker.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    (bin_dir / "aws").write_text(f'#!/bin/sh\necho "aws $*" >> {log}\necho s3cret\n')
    (bin_dir / "docker").write_text(
        f'#!/bin/sh\necho "docker $*" >> {log}\n'
        f'if [ "$1" = login ]; then echo "stdin $(cat)" >> {log}; fi\n'
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    work = tmp_path / "src"
    work.mkdir()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "REGISTRY": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "REPOSITORY_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mythicalmysfits/service",
        "IMAGE_TAG": "v7",
        "CONTAINER_NAME": "MythicalMysfits-Service",
    }
    env |= {k: str(v) for k, v in spec["env"]["variables"].items() if k not in env}
    script = ["set -e"]
    for phase in ("pre_build", "build", "post_build"):
        script += spec["phases"][phase]["commands"]
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(
        [bash, "-c", "\n".join(script)], cwd=work, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    image = f"{env['REPOSITORY_URI']}:v7"
    assert "aws ecr get-login-password --region eu-west-1" in calls
    assert f"docker login --username AWS --password-stdin {env['REGISTRY']}" in calls
    assert "stdin s3cret" in calls
    build = next(c for c in calls if c.startswith("docker build"))
    tag = next(c for c in calls if c.startswith("docker tag"))
    assert re.search(r"--tag (\S+) \.$", build)
    assert tag.split() == ["docker", "tag", build.split()[3], image]
    assert calls[-1] == f"docker push {image}"
    definitions = json.loads((work / "imagedefinitions.json").read_text())
    assert definitions == [{"name": "MythicalMysfits-Service", "imageUri": image}]
