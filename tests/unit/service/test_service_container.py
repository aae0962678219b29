"""Start the service as the image does: the Dockerfile CMD under waitress, from a snapshot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from mysfits_lab.localcloud.images import ImageStore
from mysfits_lab.service_bundle import build_context
from tests.helpers import free_port, wait_for


def get_json(url: str) -> tuple[int, dict, dict]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, dict(response.headers), json.loads(response.read())


def test_dockerfile_cmd_serves_the_catalogue(tmp_path: Path) -> None:
    image = ImageStore(tmp_path / "images").build(build_context(tmp_path / "context"))
    workdir = image.host_path(image.workdir)
    assert workdir.is_dir()

    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    # The local cloud hands each task its address in HOST/PORT; the service must honour them.
    env = {**os.environ, **image.env, "HOST": "127.0.0.1", "PORT": str(port)}
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    argv = image.command()
    executable = shutil.which(argv[0], path=env["PATH"])
    assert executable is not None, f"{argv[0]} not on {venv_bin}"

    process = subprocess.Popen(
        [executable, *argv[1:]],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def health() -> tuple | None:
            try:
                return get_json(f"{base}/")
            except (urllib.error.URLError, ConnectionError):
                exited = process.poll()
                assert exited is None, process.stdout.read().decode(errors="replace")
                return None

        status, _, body = wait_for(health, "the service to start", timeout=15, interval=0.1)
        assert status == 200 and "health check" in body["message"]

        status, headers, body = get_json(f"{base}/mysfits")
        assert status == 200
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert len(body["mysfits"]) == 6
        assert body["mysfits"][0]["name"] == "Evangeline"

        try:
            urllib.request.urlopen(f"{base}/mysfits/nope", timeout=5)
            raise AssertionError("unknown mysfit should be 404")
        except urllib.error.HTTPError as error:
            assert error.code == 404
            assert "nope" in json.loads(error.read())["message"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout:
            process.stdout.close()
