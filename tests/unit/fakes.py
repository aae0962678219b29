"""Stand-ins for a Lab and its clients, for steps that poll: scripted answers, no waiting."""

from __future__ import annotations

from typing import Any


class FakeLab:
    """What polling steps use of a Lab, with the clients a test scripts."""

    poll_interval = 0.01

    def __init__(self, **clients: Any):
        self.clients = clients

    def client(self, service: str) -> Any:
        return self.clients[service]

    def wait_budget(self, aws_seconds: float) -> float:
        return 5

    def name(self, base: str) -> str:
        return f"mysfit-{base}"


class Script:
    """A client method answering each call with the next scripted response (the last repeats)."""

    def __init__(self, *responses: Any):
        self.responses, self.calls = list(responses), 0

    def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
