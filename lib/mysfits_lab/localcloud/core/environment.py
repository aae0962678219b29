"""The environment of a process the local cloud starts (a task, a build, a function): the code
inside is the code that runs on AWS, so it finds the cloud the way an SDK finds AWS."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..constants import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY

# What every child inherits from the cloud's own environment, when set.
_INHERITED = ("HOME", "LANG", "TMPDIR", "TZ")


def interpreter_dir() -> str:
    """The folder of the interpreter running the cloud: ``python`` in a child is this one."""
    return str(Path(sys.executable).parent)


def child_environment(
    edge_url: str,
    region: str,
    *,
    base: Mapping[str, str] | None = None,
    path_first: Sequence[str] = (),
    xray_daemon: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``base`` (the image's or function's variables) plus the AWS variables that point at the
    local cloud; ``extra`` wins over everything. ``PATH`` puts ``path_first``, then this
    interpreter's folder, before the cloud's own PATH."""
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    env.setdefault("HOME", "/tmp")
    env.setdefault("LANG", "C.UTF-8")
    env.update({k: v for k, v in (base or {}).items() if k != "PATH"})
    env["PATH"] = os.pathsep.join(
        [*path_first, interpreter_dir(), os.environ.get("PATH", os.defpath)]
    )
    env.update(
        {
            "AWS_ENDPOINT_URL": edge_url,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
        }
    )
    if xray_daemon:
        env["AWS_XRAY_DAEMON_ADDRESS"] = xray_daemon
    env.update(extra or {})
    return env
