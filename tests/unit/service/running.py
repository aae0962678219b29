"""Running the service as its image would: the Dockerfile CMD under waitress, from a snapshot
of the build context, on its own port."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mysfits_lab.localcloud.images import ImageStore
from tests.helpers import free_port, wait_for


def get_json(url: str) -> tuple[int, dict, dict]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@contextmanager
def serving(context: Path, images: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the image built from ``context`` as the local cloud would; yields its base URL."""
    image = ImageStore(images).build(context)
    workdir = image.host_path(image.workdir)
    assert workdir.is_dir()

    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    # The local cloud hands each task its address in HOST/PORT; the service must honour them.
    full_env = {**os.environ, **image.env, **(env or {}), "HOST": "127.0.0.1", "PORT": str(port)}
    full_env["PATH"] = f"{venv_bin}{os.pathsep}{full_env.get('PATH', '')}"
    argv = image.command()
    executable = shutil.which(argv[0], path=full_env["PATH"])
    assert executable is not None, f"{argv[0]} not on {venv_bin}"

    process = subprocess.Popen(
        [executable, *argv[1:]],
        cwd=workdir,
        env=full_env,
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
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout:
            process.stdout.close()
