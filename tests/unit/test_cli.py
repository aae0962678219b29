"""The mysfits-lab command: plain help for every option, settings, clear refusals, summaries."""

from __future__ import annotations

import argparse
import http.server
import threading
from collections.abc import Iterator

import pytest

from mysfits_lab import cli
from mysfits_lab.localcloud import control
from mysfits_lab.outputs import OutputsStore
from mysfits_lab.paths import learner_dir
from mysfits_lab.runner import NotebookRun, RunResult, print_summary
from tests.helpers import free_port


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_every_option_has_a_plain_help_text():
    parsers = list(_parsers(cli.build_parser()))
    assert {p.prog for p in parsers} >= {
        "mysfits-lab cloud",
        "mysfits-lab settings",
        "mysfits-lab run",
        "mysfits-lab outputs",
        "mysfits-lab data generate",
    }
    for parser in parsers:
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            assert action.help, f"{parser.prog} {action.option_strings or action.dest}: no help"
        text = parser.format_help()
        assert "``" not in text and ":func:" not in text, f"reST markup in {parser.prog} --help"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MYSFITS_LAB_RUNS", str(tmp_path / "runs"))
    return tmp_path / "home"


def test_settings_are_shown_and_set(home, capsys):
    assert cli.main(["settings"]) == 0
    shown = capsys.readouterr().out
    assert "mysfit" in shown and "us-east-1" in shown and "default" in shown

    assert cli.main(["settings", "--learner", "alice", "--region", "eu-west-1"]) == 0
    shown = capsys.readouterr().out
    assert f"saved to {home / 'settings.json'}" in shown
    row = next(line for line in shown.splitlines() if line.startswith("region"))
    assert "eu-west-1" in row and str(home / "settings.json") in row


def test_a_mistyped_region_is_refused_in_one_line_before_anything_runs(home, capsys):
    assert cli.main(["settings", "--region", "us-east1"]) == 2
    assert cli.main(["run", "--region", "us-east1"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all("Did you mean us-east-1?" in line for line in errors)
    assert not (home / "settings.json").exists()
    assert not (home.parent / "runs").exists()


def test_a_taken_port_is_one_line_without_a_traceback(home, capsys, monkeypatch):
    monkeypatch.setenv("MYSFITS_LAB_EDGE_PORT", str(free_port()))
    monkeypatch.setattr(control, "_taken", lambda port: True)
    assert cli.main(["cloud", "up"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "is taken by another program" in error
    assert "export MYSFITS_LAB_EDGE_PORT=" in error
    # `make run`: the runner starts the cloud before any notebook, so the same one line
    assert cli.main(["run"]) == 2
    assert capsys.readouterr().err == error


def test_listeners_are_rows_for_every_website_and_load_balancer_listener():
    details = {
        "websites": {"site-b": "http://127.0.0.1:5001"},
        "loadbalancers": {
            "eu-west-1/nlb": {
                "type": "network",
                "region": "eu-west-1",
                "listeners": {"8080": "http://127.0.0.1:5003", "80": "http://127.0.0.1:5002"},
            }
        },
    }
    assert control.listeners(details) == [
        {
            "kind": "website",
            "name": "site-b",
            "region": "",
            "port": "",
            "url": details["websites"]["site-b"],
        },
        {
            "kind": "load balancer (network)",
            "name": "nlb",
            "region": "eu-west-1",
            "port": "80",
            "url": "http://127.0.0.1:5002",
        },
        {
            "kind": "load balancer (network)",
            "name": "nlb",
            "region": "eu-west-1",
            "port": "8080",
            "url": "http://127.0.0.1:5003",
        },
    ]
    assert control.listeners({}) == []


class _Site(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>mysfits</html>")

    def log_message(self, *args: object) -> None:
        pass


def _summary(home, url: str, capsys) -> str:
    OutputsStore(learner_dir("mysfit") / "outputs.json", "mysfit").record(
        "01-static-site", {"website.url": url}
    )
    print_summary(RunResult("mysfit", home, [NotebookRun("00-setup", "failed", error="boom")]))
    return capsys.readouterr().out


def test_the_site_url_is_printed_only_when_the_site_answers(home, capsys):
    dead = f"http://127.0.0.1:{free_port()}"
    out = _summary(home, dead, capsys)
    assert "is running at" not in out and f"{dead}/ does not answer (ConnectionError)" in out

    server = http.server.HTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        live = f"http://127.0.0.1:{server.server_port}"
        assert f"site is running at {live}/" in _summary(home, live, capsys)
    finally:
        server.shutdown()
        server.server_close()
