"""The ``docker`` and ``aws`` shims a build finds on its PATH, run as a buildspec runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mysfits_lab.localcloud import control
from mysfits_lab.localcloud.constants import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY
from mysfits_lab.localcloud.shims import SHIMS_DIR

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def _shim(name: str, *args: str, stdin: str = "", home: Path | None = None):
    edge = control.status().edge_url
    env = {
        "PATH": os.environ["PATH"],
        "MYSFITS_LOCALCLOUD_URL": edge,
        "MYSFITS_LOCALCLOUD_PYTHON": sys.executable,
        "AWS_ENDPOINT_URL": edge,
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "DOCKER_CONFIG": str(home or "/nonexistent"),
    }
    return subprocess.run(
        [str(SHIMS_DIR / name), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )


def test_unsupported_commands_say_so(cloud):
    version = _shim("docker", "--version")
    assert version.returncode == 0 and version.stdout.startswith("Docker version")
    run = _shim("docker", "run", "--rm", "alpine")
    assert run.returncode == 1
    assert "not supported by the local cloud's docker shim" in run.stderr
    s3 = _shim("aws", "s3", "ls")
    assert s3.returncode == 1 and "not supported by the local cloud's aws shim" in s3.stderr
    assert _shim("aws", "--version").stdout.startswith("aws-cli/2.")


def test_login_build_and_push_to_ecr_like_docker(lab, tmp_path):
    lab.client("ecr").create_repository(repositoryName="tiny")
    password = _shim("aws", "ecr", "get-login-password", "--region", "us-east-1").stdout.strip()
    wrong = _shim(
        "docker", "login", "-u", "AWS", "--password-stdin", REGISTRY, stdin="nope\n", home=tmp_path
    )
    assert wrong.returncode == 1 and "400 Bad Request" in wrong.stderr
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text('FROM scratch\nCMD ["true"]\n')
    built = _shim("docker", "build", "-q", "-t", f"{REGISTRY}/tiny:shim", str(tmp_path / "ctx"))
    assert built.returncode == 0 and built.stdout.startswith("sha256:")
    unauthenticated = _shim("docker", "push", f"{REGISTRY}/tiny:shim", home=tmp_path)
    assert unauthenticated.returncode == 1
    assert "no basic auth credentials" in unauthenticated.stderr
    login = _shim(
        "docker",
        "login",
        "-u",
        "AWS",
        "--password-stdin",
        REGISTRY,
        stdin=password + "\n",
        home=tmp_path,
    )
    assert login.returncode == 0 and "Login Succeeded" in login.stdout
    assert REGISTRY in (tmp_path / "config.json").read_text()
    pushed = _shim("docker", "push", f"{REGISTRY}/tiny:shim", home=tmp_path)
    assert pushed.returncode == 0 and "shim: digest: sha256:" in pushed.stdout
    tags = lab.client("ecr").describe_images(repositoryName="tiny")["imageDetails"][0]["imageTags"]
    assert tags == ["shim"]
    listed = _shim("docker", "images")
    assert f"{REGISTRY}/tiny" in listed.stdout and "shim" in listed.stdout
