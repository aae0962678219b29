"""Loopback addresses of their own: handed out in turn, never 127.0.0.1, taken back, refused
when all are held; and whether this system can bind them at all."""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Iterator

import pytest

from mysfits_lab.localcloud.core import loopback
from mysfits_lab.localcloud.core.loopback import (
    AddressesExhausted,
    LoopbackAddresses,
    bindable,
    port_taken_everywhere,
)

linux = pytest.mark.skipif(sys.platform != "linux", reason="all of 127/8 is local on Linux only")


def test_addresses_are_handed_out_in_turn_each_to_one_holder():
    pool = LoopbackAddresses("127.0.9.1", "127.0.9.20", start="127.0.9.5")
    taken = [pool.take() for _ in range(3)]
    assert taken == ["127.0.9.5", "127.0.9.6", "127.0.9.7"]
    assert pool.held() == set(taken)


def test_a_released_address_is_handed_out_again_once_the_pool_comes_round():
    pool = LoopbackAddresses("127.0.9.1", "127.0.9.3", start="127.0.9.1")
    first, second, third = pool.take(), pool.take(), pool.take()
    pool.release(second)
    assert pool.take() == second  # the only free one
    pool.release(first)
    pool.release(third)
    # In turn, not the last released first: the address after the last one handed out.
    assert pool.take() == third
    assert pool.held() == {first, second, third} - {first}


def test_releasing_an_address_not_held_changes_nothing():
    pool = LoopbackAddresses("127.0.9.1", "127.0.9.3", start="127.0.9.1")
    held = pool.take()
    pool.release("127.0.9.3")
    assert pool.held() == {held}


def test_127_0_0_1_network_and_broadcast_like_addresses_are_never_handed_out():
    pool = LoopbackAddresses("127.0.0.0", "127.0.1.1", start="127.0.0.0")
    taken = [pool.take() for _ in range(256 - 3 + 1)]  # .0.0, .0.1, .0.255, .1.0 skipped
    assert "127.0.0.1" not in taken
    assert not any(a.endswith((".0", ".255")) for a in taken)
    assert taken[0] == "127.0.0.2" and taken[-1] == "127.0.1.1"
    with pytest.raises(AddressesExhausted):
        pool.take()


def test_the_default_pool_leaves_127_0_x_to_the_system_and_starts_at_random():
    starts = {LoopbackAddresses().take() for _ in range(20)}
    assert len(starts) > 1
    for address in starts:
        octets = [int(o) for o in address.split(".")]
        assert octets[0] == 127 and 1 <= octets[1] <= 254 and octets[3] not in (0, 255)
        assert address not in ("127.0.0.1", loopback.PROBE)


def test_an_exhausted_pool_says_so_and_recovers_once_one_is_released():
    pool = LoopbackAddresses("127.0.9.1", "127.0.9.2", start="127.0.9.1")
    held = [pool.take(), pool.take()]
    with pytest.raises(AddressesExhausted, match="all 2 loopback addresses"):
        pool.take()
    pool.release(held[1])
    assert pool.take() == held[1]


def test_a_range_outside_loopback_is_refused():
    with pytest.raises(ValueError, match="not a loopback range"):
        LoopbackAddresses("10.0.0.1", "10.0.0.9")


@pytest.fixture
def quiet_mode(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(loopback.MODE_VARIABLE, raising=False)
    yield


def test_without_other_loopback_addresses_the_pool_is_unavailable(monkeypatch, quiet_mode, caplog):
    def no_address(host: str, port: int = 0) -> OSError | None:
        return OSError(errno.EADDRNOTAVAIL, "Can't assign requested address")

    monkeypatch.setattr(loopback, "bindable", no_address)
    pool = LoopbackAddresses()
    with caplog.at_level("WARNING", logger="mysfits_lab.localcloud.loopback"):
        assert pool.available() is False
        assert pool.available() is False
    [record] = caplog.records  # said once, and why
    assert "Can't assign requested address" in record.getMessage()
    assert "$PORT" in record.getMessage()


def test_the_shared_mode_can_be_asked_for(monkeypatch):
    monkeypatch.setenv(loopback.MODE_VARIABLE, "shared")
    assert LoopbackAddresses().available() is False


@linux
def test_on_linux_every_loopback_address_binds_without_setup(quiet_mode):
    pool = LoopbackAddresses()
    assert pool.available() is True
    a, b = pool.take(), pool.take()
    with socket.socket() as first, socket.socket() as second:
        first.bind((a, 0))
        first.listen()
        port = first.getsockname()[1]
        second.bind((b, port))  # one port, two addresses
        second.listen()
        assert bindable(a, port) is not None and bindable("127.0.0.1", port) is None
        assert not port_taken_everywhere(port)


@linux
def test_a_0_0_0_0_bind_takes_the_port_on_every_address():
    with socket.socket() as wildcard:
        wildcard.bind(("0.0.0.0", 0))
        wildcard.listen()
        port = wildcard.getsockname()[1]
        error = bindable(LoopbackAddresses().take(), port)
        assert error is not None and error.errno == errno.EADDRINUSE
        assert port_taken_everywhere(port)
    assert not port_taken_everywhere(port)
