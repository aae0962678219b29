"""The Makefile's learner-facing targets: `make lab` starts JupyterLab as root and as a normal
user, and a notebook executed in JupyterLab never fails the lint's notebook check while a
notebook committed with outputs still does."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from mysfits_lab.localcloud import control
from tests.helpers import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "Makefile"
VENV = ROOT / ".venv"
# Treated as up to date, so no test reinstalls the virtualenv.
MAKE = ["make", "--no-print-directory", "-f", str(MAKEFILE), "-o", str(VENV / ".installed-stamp")]


def _make(folder: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MAKE, "-C", str(folder), *args, f"VENV={VENV}"],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_make_lab_adds_allow_root_only_for_root(tmp_path):
    planned = _make(tmp_path, "-n", "lab").stdout
    jupyter = next(line for line in planned.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in jupyter) == (os.geteuid() == 0)


def test_make_lab_serves_jupyterlab(tmp_path, monkeypatch):
    """The `lab` target itself, in a folder that is not a git checkout (its setup then leaves
    git alone), with a lab home, edge port and JupyterLab port of its own."""
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MYSFITS_LAB_EDGE_PORT", str(free_port()))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    port = free_port()
    process = subprocess.Popen(
        [
            *MAKE,
            "-C",
            str(tmp_path),
            "lab",
            f"VENV={VENV}",
            f"JUPYTER_ARGS=--no-browser --port={port} --ServerApp.port_retries=0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make, the cloud command and jupyter: one group to stop
    )
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"make lab exited ({process.returncode})")
            try:
                return requests.get(f"http://127.0.0.1:{port}/api", timeout=2).ok
            except requests.ConnectionError:
                return False

        wait_for(answers, f"JupyterLab on port {port}", timeout=90, interval=0.5)
        assert "version" in requests.get(f"http://127.0.0.1:{port}/api", timeout=5).json()
        assert control.status().running  # `make lab` started the local cloud first
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        control.down()
        print(output)  # shown when the test fails


# -- notebooks committed without outputs -------------------------------------------------------
GIT_ENV = os.environ | {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,  # the user's own git settings play no part
}


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=folder, env=GIT_ENV, capture_output=True, text=True, check=True
    ).stdout


def _execute(notebook: Path) -> None:
    """What JupyterLab's autosave leaves on disk after running the first code cell."""
    data = json.loads(notebook.read_text())
    cell = next(c for c in data["cells"] if c["cell_type"] == "code")
    cell["execution_count"] = 1
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ran\n"]}]
    notebook.write_text(json.dumps(data, indent=1) + "\n")


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A git checkout holding the project's Makefile, .gitattributes and notebooks."""
    folder = tmp_path / "checkout"
    folder.mkdir()
    for name in ("Makefile", ".gitattributes"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    _git(folder, "init", "-q")
    _git(folder, "add", ".")
    _git(folder, "commit", "-q", "-m", "clean notebooks")
    return folder


def test_an_executed_notebook_passes_and_a_committed_one_with_outputs_fails(checkout):
    notebook = checkout / "notebooks" / "00-setup.ipynb"
    assert _make(checkout, "notebooks-clean").returncode == 0
    _execute(notebook)
    assert _make(checkout, "notebooks-clean").returncode == 0  # only on disk: fine

    _git(checkout, "add", "notebooks/00-setup.ipynb")  # no filter installed: outputs go in
    _git(checkout, "commit", "-q", "-m", "oops")
    failed = _make(checkout, "notebooks-clean")
    assert failed.returncode != 0
    assert "would have stripped notebooks/00-setup.ipynb" in failed.stdout
    assert "01-static-site" not in failed.stdout and "make setup" in failed.stdout


def test_setup_installs_the_filter_so_git_never_sees_outputs(checkout):
    attributes = (checkout / ".gitattributes").read_text()
    assert _make(checkout, "setup").returncode == 0
    assert (checkout / ".gitattributes").read_text() == attributes  # left as committed
    assert "nbstripout" in _git(checkout, "config", "filter.nbstripout.clean")

    notebook = checkout / "notebooks" / "00-setup.ipynb"
    _execute(notebook)
    assert _git(checkout, "diff", "--stat") == ""  # the outputs are invisible to git
    _git(checkout, "add", "-A")
    assert _git(checkout, "status", "--porcelain") == ""  # nothing to commit either
    assert _make(checkout, "notebooks-clean").returncode == 0
    assert '"outputs": [\n' in notebook.read_text()  # the working copy keeps them


def test_outside_a_checkout_the_files_themselves_are_checked(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    assert _make(tmp_path, "notebooks-clean").returncode == 0
    _execute(tmp_path / "notebooks" / "01-static-site.ipynb")
    failed = _make(tmp_path, "notebooks-clean")
    assert failed.returncode != 0 and "notebooks/01-static-site.ipynb" in failed.stdout
