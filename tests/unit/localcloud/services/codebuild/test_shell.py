"""The bash session a build's commands run in, without a cloud."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mysfits_lab.localcloud.core.processes import Launcher
from mysfits_lab.localcloud.services.codebuild.shell import BuildShell, ShellInterrupted
from tests.helpers import assert_dead, pids_alive


@pytest.fixture
def launcher() -> Iterator[Launcher]:
    launcher = Launcher()
    yield launcher
    launcher.shutdown()


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def shell(tmp_path: Path, launcher: Launcher, lines: list[str]) -> Iterator[BuildShell]:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "FROM_ENV": "yes"}
    session = BuildShell(launcher, tmp_path / "src", env, lines.append, tmp_path / "commands")
    yield session
    session.close()


def test_commands_share_one_session_and_report_exit_statuses(shell, lines):
    assert shell.run("cd sub && export MARK=kept && LOCAL=also") == 0
    assert shell.run('echo "$(basename "$PWD") $MARK $LOCAL $FROM_ENV"') == 0
    assert shell.run("printf 'no newline'") == 0
    assert shell.run("ls /definitely/not/here") == 2
    assert shell.run("echo multi\necho line") == 0
    assert lines[0] == "sub kept also yes"
    assert lines[1] == "no newline"
    assert "No such file or directory" in lines[2]
    assert lines[3:] == ["multi", "line"]


def test_exported_variables_reach_the_next_command(shell, lines):
    shell.export("QUOTED", "it's $HOME")
    assert shell.run('echo "$QUOTED"') == 0
    assert lines == ["it's $HOME"]


def test_stdin_is_empty_and_an_exiting_shell_is_replaced(shell, lines):
    assert shell.run("cat") == 0  # would hang if commands could read the session's script
    assert shell.run("exit 7") == 7
    assert shell.run("echo fresh") == 0
    assert lines[-1] == "fresh"


def test_a_replaced_shell_takes_its_background_commands_along(shell, tmp_path):
    pid_file = tmp_path / "left.pid"
    assert shell.run(f"sleep 30 & echo $! > {pid_file}; exit 3") == 3
    assert shell.run("true") == 0
    assert_dead(int(pid_file.read_text()))


def test_deadline_kills_the_whole_process_group(shell, tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    started = time.monotonic()
    with pytest.raises(ShellInterrupted) as interrupted:
        shell.run(f"sleep 30 & echo $! > {pid_file}; wait", deadline=time.monotonic() + 0.5)
    assert interrupted.value.reason == "timeout"
    assert time.monotonic() - started < 3
    assert_dead(int(pid_file.read_text()))


def test_stop_request_interrupts_a_running_command(shell):
    calls = iter([False, False, True])
    started = time.monotonic()
    with pytest.raises(ShellInterrupted) as interrupted:
        shell.run("sleep 30", should_stop=lambda: next(calls, True))
    assert interrupted.value.reason == "stopped"
    assert time.monotonic() - started < 3


def test_close_ends_what_the_commands_left_running(shell, tmp_path):
    pid_file = tmp_path / "daemon.pid"
    assert shell.run(f"sleep 30 >/dev/null 2>&1 & echo $! > {pid_file}") == 0
    pid = int(pid_file.read_text())
    assert pids_alive([pid]) == [pid]
    shell.close(grace=0.5)
    assert_dead(pid)


def test_version_0_1_runs_each_command_in_its_own_shell(tmp_path, launcher):
    lines: list[str] = []
    (tmp_path / "sub").mkdir()
    session = BuildShell(
        launcher, tmp_path, {"PATH": os.environ["PATH"]}, lines.append, tmp_path / "cmds", True
    )
    try:
        session.run("cd sub; X=1")
        session.run('echo "$(basename "$PWD")-${X:-unset}"')
    finally:
        session.close()
    assert lines == [f"{tmp_path.name}-unset"]


def test_output_streams_while_a_command_runs(shell, lines):
    with pytest.raises(ShellInterrupted) as interrupted:
        shell.run(
            "echo first; sleep 30",
            deadline=time.monotonic() + 10,
            should_stop=lambda: "first" in lines,
        )
    assert interrupted.value.reason == "stopped"
    assert lines == ["first"]
