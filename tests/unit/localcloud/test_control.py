"""`cloud down` and `cloud status` never signal a process that is not the cloud they started."""

from __future__ import annotations

import json
import subprocess

from mysfits_lab.localcloud import control


def test_a_stale_state_file_never_signals_a_reused_pid(tmp_path, monkeypatch):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path))
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        state = tmp_path / "cloud"
        state.mkdir(parents=True, exist_ok=True)
        # What a crashed cloud leaves: its pid, now taken by another process started later.
        (state / "state.json").write_text(
            json.dumps(
                {
                    "pid": bystander.pid,
                    "edge_url": "http://127.0.0.1:9",
                    "instance_id": "gone",
                    "process_start": "1",
                }
            )
        )
        assert control.status().running is False
        assert control.down() is False
        assert bystander.poll() is None  # not signalled
        assert not (state / "state.json").exists()
    finally:
        bystander.kill()
        bystander.wait()
