"""The one process launcher: output, stop signals, group kill, and no child outliving its cloud."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mysfits_lab.localcloud.core.processes import Launcher, ProcessSpec
from tests.helpers import assert_dead, descendants, pids_alive, wait_for


@pytest.fixture
def launcher():
    launcher = Launcher()
    yield launcher
    launcher.shutdown(grace=0.5)


def spec(tmp_path: Path, script: str, **options) -> ProcessSpec:
    return ProcessSpec(
        argv=[sys.executable, "-c", textwrap.dedent(script)],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
        name="test",
        **options,
    )


def test_output_reaches_the_file_and_the_line_consumer(launcher, tmp_path):
    lines: list[str] = []
    out = tmp_path / "out" / "process.log"
    process = launcher.start(
        spec(
            tmp_path,
            "print('one'); print('two', flush=True)",
            output_file=out,
            on_line=lines.append,
        )
    )
    assert process.wait(10) == 0
    process.join_output(5)
    assert lines == ["one", "two"]
    assert out.read_text() == "one\ntwo\n"


def test_exit_codes_are_reported_as_docker_does(launcher, tmp_path):
    assert launcher.start(spec(tmp_path, "raise SystemExit(3)")).wait(10) == 3
    killed = launcher.start(spec(tmp_path, "import time; time.sleep(30)"))
    killed.send(signal.SIGKILL)
    assert killed.wait(10) == 128 + signal.SIGKILL


def test_a_command_that_cannot_be_found_is_an_error(launcher, tmp_path):
    with pytest.raises(FileNotFoundError):
        launcher.start(ProcessSpec(["no-such-command-here"], tmp_path, {"PATH": "/nowhere"}, "x"))


def test_stop_sends_the_signal_then_kills_the_whole_group_after_the_grace(launcher, tmp_path):
    pid_file = tmp_path / "background.pid"
    script = f"""
        import signal, subprocess, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a command that ignores SIGTERM
        child = subprocess.Popen(["sleep", "300"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(300)
    """
    process = launcher.start(spec(tmp_path, script))
    background = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), "pid file"))
    code = process.stop(grace=0.5)
    assert code == 128 + signal.SIGKILL
    assert_dead(background)


def test_a_killed_parent_leaves_no_child_behind(tmp_path):
    """SIGKILL the process that owns the launcher: its children and grandchildren die too."""
    pid_file = tmp_path / "pids"
    owner = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        from mysfits_lab.localcloud.core.processes import Launcher, ProcessSpec
        launcher = Launcher()
        script = "import subprocess, time; subprocess.Popen(['sleep', '300']); time.sleep(300)"
        process = launcher.start(ProcessSpec(
            [sys.executable, "-c", script], Path("."), {{"PATH": os.environ["PATH"]}}, "t"))
        Path({str(pid_file)!r}).write_text(str(process.pid))
        time.sleep(300)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", owner], cwd=tmp_path)
    try:
        supervisor = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), "pids"))

        tree = wait_for(
            lambda: len(descendants(supervisor)) >= 2 and descendants(supervisor), "tree"
        )
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        everyone = [supervisor, *tree]
        wait_for(lambda: not pids_alive(everyone), "every child to end", timeout=10)
    finally:
        if parent.poll() is None:
            parent.kill()


def test_any_stop_signal_reaches_the_command_and_not_the_supervisor(launcher, tmp_path):
    script = """
        import signal, sys, time
        signal.signal(signal.SIGUSR2, lambda *_: sys.exit(7))  # a STOPSIGNAL SIGUSR2 command
        print("ready", flush=True)
        time.sleep(30)
    """
    lines: list[str] = []
    process = launcher.start(spec(tmp_path, script, on_line=lines.append))
    wait_for(lambda: "ready" in lines, "the command to start")
    assert process.stop(grace=5, signum=signal.SIGUSR2) == 7
