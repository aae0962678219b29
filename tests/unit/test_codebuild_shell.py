"""The CodeBuild provider's command runner and buildspec reader, without a cloud."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mysfits_lab.localcloud.providers.codebuild import (
    BuildShell,
    PhaseError,
    ShellInterrupted,
    parse_buildspec,
)


def assert_dead(pid: int, wait: float = 3.0) -> None:
    """The process is gone, or a zombie waiting for its (re)parent to reap it: not running."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} is still running")


@pytest.fixture
def shell(tmp_path: Path):
    lines: list[str] = []
    (tmp_path / "src" / "sub").mkdir(parents=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "FROM_ENV": "yes"}
    session = BuildShell(tmp_path / "src", env, lines.append, tmp_path / "commands")
    session.lines = lines  # type: ignore[attr-defined]
    yield session
    session.close()


def test_commands_share_one_session_and_report_exit_statuses(shell):
    assert shell.run("cd sub && export MARK=kept && LOCAL=also") == 0
    assert shell.run('echo "$(basename "$PWD") $MARK $LOCAL $FROM_ENV"') == 0
    assert shell.run("printf 'no newline'") == 0
    assert shell.run("ls /definitely/not/here") == 2
    assert shell.run("echo multi\necho line") == 0
    assert shell.lines[0] == "sub kept also yes"
    assert shell.lines[1] == "no newline"
    assert "No such file or directory" in shell.lines[2]
    assert shell.lines[3:] == ["multi", "line"]


def test_stdin_is_empty_and_an_exiting_shell_is_replaced(shell):
    assert shell.run("cat") == 0  # would hang if commands could read the session's script
    assert shell.run("exit 7") == 7
    assert shell.run("echo fresh") == 0
    assert shell.lines[-1] == "fresh"


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
    with pytest.raises(ShellInterrupted) as interrupted:
        shell.run("sleep 30", should_stop=lambda: next(calls, True))
    assert interrupted.value.reason == "stopped"


def test_version_0_1_runs_each_command_in_its_own_shell(tmp_path):
    lines: list[str] = []
    (tmp_path / "sub").mkdir()
    session = BuildShell(
        tmp_path, {"PATH": os.environ["PATH"]}, lines.append, tmp_path / "cmds", isolated=True
    )
    try:
        session.run("cd sub; X=1")
        session.run('echo "$(basename "$PWD")-${X:-unset}"')
    finally:
        session.close()
    assert lines == [f"{tmp_path.name}-unset"]


def test_buildspec_phases_variables_and_artifacts():
    spec = parse_buildspec(
        """
version: 0.2
env:
  variables:
    TAG: latest
    COUNT: 3
    ENABLED: yes
phases:
  pre_build:
    on-failure: CONTINUE
    commands:
      - echo one
  build:
    commands:
      - make
    finally:
      - echo done
artifacts:
  files:
    - imagedefinitions.json
  discard-paths: yes
"""
    )
    assert spec.version == "0.2"
    assert spec.variables == {"TAG": "latest", "COUNT": "3", "ENABLED": "true"}
    assert spec.phases["pre_build"].on_failure == "CONTINUE"
    assert spec.phases["build"].commands == ["make"]
    assert spec.phases["build"].finally_ == ["echo done"]
    assert spec.artifacts == {"files": ["imagedefinitions.json"], "discard-paths": True}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n",
            r"Commands\[0\] to be of string type",
        ),
        ("version: 0.3\nphases: {}\n", "invalid buildspec version"),
        ("version: 0.2\nphases:\n  deploy:\n    commands: [x]\n", "unknown phase 'deploy'"),
        ("version: 0.2\nphases: [\n", "not valid YAML"),
        ("version: 0.2\nartifacts:\n  name: x\n", "artifacts needs a files list"),
    ],
)
def test_buildspec_errors_are_yaml_file_errors(text, message):
    with pytest.raises(PhaseError, match=message) as failure:
        parse_buildspec(text)
    assert failure.value.code == "YAML_FILE_ERROR"
