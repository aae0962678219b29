import time

import pytest
from botocore.exceptions import ClientError

from mysfits_lab.lab import LabError
from mysfits_lab.outputs import MissingOutput
from mysfits_lab.waiting import WaitTimeout, wait_until


def _throttled() -> ClientError:
    return ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Describe")


def test_returns_the_first_truthy_result_and_survives_transient_errors():
    calls = iter([_throttled(), ConnectionError("refused"), KeyError("services"), None, "ready"])

    def check():
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_until(check, "it", timeout=5, interval=0.01) == "ready"


def test_timeout_names_what_and_the_last_error_and_the_hint():
    def check():
        raise _throttled()

    with pytest.raises(WaitTimeout) as info:
        wait_until(check, "the stack", timeout=0.05, interval=0.01, hint="See the logs.")
    message = str(info.value)
    assert message.startswith("the stack did not happen within 0s")
    assert "slow down" in message and message.endswith("See the logs.")
    assert isinstance(info.value, LabError)  # notebooks and the CLI report it as one


@pytest.mark.parametrize(
    "error",
    [
        LabError("endpoint failed: the model is broken"),
        MissingOutput("service.url", "mysfit"),
        TypeError("a bug in the check"),  # not transient: retrying cannot fix it
    ],
)
def test_an_error_that_waiting_cannot_fix_is_raised_at_once(error):
    calls = []

    def check():
        calls.append(1)
        raise error

    started = time.monotonic()
    with pytest.raises(type(error)) as info:
        wait_until(check, "the endpoint", timeout=5, interval=0.01)
    assert time.monotonic() - started < 0.5
    assert info.value is error and not isinstance(info.value, WaitTimeout)
    assert calls == [1]
