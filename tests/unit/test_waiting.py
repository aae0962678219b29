import pytest

from mysfits_lab.waiting import WaitTimeout, wait_until


def test_returns_the_first_truthy_result_and_survives_transient_errors():
    calls = iter([ValueError("not yet"), None, {"ready": True}])

    def check():
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_until(check, "it", timeout=5, interval=0.01) == {"ready": True}


def test_timeout_names_what_and_the_last_error_and_the_hint():
    def check():
        raise RuntimeError("still creating")

    with pytest.raises(WaitTimeout) as info:
        wait_until(check, "the stack", timeout=0.05, interval=0.01, hint="See the logs.")
    message = str(info.value)
    assert message.startswith("the stack did not happen within 0s")
    assert "still creating" in message and message.endswith("See the logs.")
