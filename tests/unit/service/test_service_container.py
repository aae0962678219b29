"""Start the service as the image does: the Dockerfile CMD under waitress, from a snapshot."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from mysfits_lab.localcloud.images import ImageStore
from mysfits_lab.service_bundle import build_context


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        deadline = time.monotonic() + 15
        while True:
            try:
                status, _, body = get_json(f"{base}/")
                break
            except (urllib.error.URLError, ConnectionError):
                exited = process.poll()
                assert exited is None, process.stdout.read().decode(errors="replace")
                assert time.monotonic() < deadline, "the service did not start in 15 s"
                time.sleep(0.1)
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
