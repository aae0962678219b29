"""Health checks and draining for every registered target, on one scheduler thread.

The scheduler sleeps until the next check falls due (or a target is registered or
deregistered), hands due checks to a small pool of probe workers — a probe may wait its whole
timeout, and a slow target must not delay the others — and records each result as it comes
back. A target's first check runs at registration; the next one an interval after the previous
one started. A deregistered target is ``draining`` until the proxy has no open connection to it
(or its deregistration delay is over), then it is gone. Each change of a target's state is
announced (``changed``): ECS waits for it to start or stop a task.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...core.clock import Clock
from .models import Address, HealthCheck, Target, TargetGroup, unregistered_api
from .validation import code_ranges

log = logging.getLogger("mysfits_lab.localcloud.elb")

PROBE_WORKERS = 4
DRAIN_POLL = 0.05
IDLE_WAIT = 1.0  # nothing due: look again anyway (settings may have changed)


def matcher_accepts(matcher: str, status: int) -> bool:
    """Whether an HTTP status satisfies a target group matcher ("200", "200,202", "200-299");
    ValueError for a matcher that is none of these (the API refuses them)."""
    return any(low <= status <= high for low, high in code_ranges(matcher))


def probe(settings: HealthCheck, address: Address) -> tuple[bool, str | None]:
    """Run one check; (passed, why it failed: a status code, "timeout" or None)."""
    host, port = address[0], settings.probe_port(address[1])
    try:
        if settings.protocol not in ("HTTP", "HTTPS"):
            with socket.create_connection((host, port), timeout=settings.timeout):
                return True, None
        if settings.protocol == "HTTPS":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=settings.timeout, context=ssl._create_unverified_context()
            )  # the ELB checker does not verify certificates either
        else:
            connection = http.client.HTTPConnection(host, port, timeout=settings.timeout)
        try:
            connection.request(
                "GET", settings.path, headers={"User-Agent": "ELB-HealthChecker/2.0"}
            )
            status = connection.getresponse().status
        finally:
            connection.close()
        return matcher_accepts(settings.matcher, status), str(status)
    except TimeoutError:
        return False, "timeout"
    except (OSError, http.client.HTTPException):
        return False, None


class HealthChecker:
    """The target groups that have targets, and the thread that checks them."""

    def __init__(
        self,
        clock: Clock,
        connections: Callable[[Address], int],
        changed: Callable[[], None],
    ):
        self._clock = clock
        self._connections = connections  # open proxy connections to a target
        self._changed = changed  # a target's state changed, or a drained target is gone
        self._groups: dict[str, TargetGroup] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(PROBE_WORKERS, thread_name_prefix="elb-probe")
        self._thread = threading.Thread(target=self._run, name="elb-health", daemon=True)

    # -- target groups ----------------------------------------------------------------------
    def group(self, arn: str) -> TargetGroup | None:
        with self._lock:
            return self._groups.get(arn)

    def add_group(self, arn: str, settings: HealthCheck) -> TargetGroup:
        with self._lock:
            return self._groups.setdefault(arn, TargetGroup(arn, settings))

    def update_settings(self, arn: str, settings: HealthCheck) -> None:
        with self._lock:
            if arn in self._groups:
                self._groups[arn].settings = settings
        self._wake.set()

    def remove_group(self, arn: str) -> None:
        with self._lock:
            self._groups.pop(arn, None)

    def register(self, group: TargetGroup, addresses: list[Address]) -> None:
        """Start checking targets (registering a target twice changes nothing, but a draining
        one starts over)."""
        now = self._clock.monotonic()
        with self._lock:
            for address in addresses:
                known = group.targets.get(address)
                if known is None or known.state == "draining":
                    group.targets[address] = Target(address[0], address[1], due=now)
        self._wake.set()

    def known(self, group: TargetGroup, addresses: list[Address]) -> bool:
        """Whether every one of ``addresses`` is registered in ``group``."""
        with self._lock:
            return all(address in group.targets for address in addresses)

    def deregister(self, group: TargetGroup, addresses: list[Address]) -> None:
        """Start draining those of ``addresses`` that are registered in ``group``."""
        with self._lock:
            deadline = self._clock.monotonic() + group.settings.drain_seconds
            for address in addresses:
                target = group.targets.get(address)
                if target is not None and target.state != "draining":
                    target.drain(deadline)
        self._wake.set()

    def routable(self, group_arns: list[str]) -> list[Address]:
        """The targets of these groups that may take a connection, in a stable order."""
        with self._lock:
            return sorted(
                target.address
                for arn in group_arns
                if arn in self._groups
                for target in self._groups[arn].targets.values()
                if target.routable
            )

    def describe(
        self, group: TargetGroup, addresses: list[Address], in_use: bool
    ) -> list[dict[str, Any]]:
        """TargetHealthDescriptions for ``addresses`` (every registered target when empty)."""
        with self._lock:
            return [
                group.targets[a].to_api(group.settings, in_use)
                if a in group.targets
                else unregistered_api(a, group.settings)
                for a in addresses or sorted(group.targets)
            ]

    # -- the scheduler ----------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                delay = self._dispatch()
            except Exception:  # keep checking the other targets
                log.exception("health check scheduling failed")
                delay = IDLE_WAIT
            self._wake.wait(delay)
            self._wake.clear()  # anything that set it is seen by the next pass

    def _dispatch(self) -> float:
        """Start the checks that are due, end finished drains; seconds until the next duty."""
        now = self._clock.monotonic()
        next_duty = now + IDLE_WAIT
        with self._lock:
            for group in self._groups.values():
                for target in list(group.targets.values()):
                    try:
                        due = self._duty(group, target, now)
                    except Exception:  # this target is looked at again; the others go on
                        self._failed(target, "scheduling the health check of")
                        target.checking, target.due = False, now + IDLE_WAIT
                        due = target.due
                    next_duty = min(next_duty, due)
        return max(0.0, next_duty - now)

    def _duty(self, group: TargetGroup, target: Target, now: float) -> float:
        """Look after one target (under the lock); when it next needs looking after."""
        settings = group.settings
        if target.state == "draining":
            if self._connections(target.address) == 0 or now >= target.drain_deadline:
                del group.targets[target.address]
                log.info("target %s:%s deregistered", *target.address)
                self._changed()
                return now + IDLE_WAIT
            return now + DRAIN_POLL
        if target.checking:
            return now + IDLE_WAIT  # the probe's end wakes the scheduler
        if target.due > now:
            return target.due
        if not settings.enabled:
            disabled = ("unavailable", "Target.HealthCheckDisabled", "Health checks are disabled")
            if target.set(*disabled):
                self._changed()
            target.due = now + settings.interval
            return target.due
        target.checking = True
        self._pool.submit(self._check, group, target)
        return now + IDLE_WAIT

    def _check(self, group: TargetGroup, target: Target) -> None:
        """Probe a target and count the result. A failure of the checker itself (not of the
        target) is logged and counts for nothing: the target is checked again an interval
        later, and its state stays what the checks it passed or failed made it."""
        started = self._clock.monotonic()
        try:
            settings = group.settings
            passed, failure = probe(settings, target.address)
            with self._lock:
                current = group.targets.get(target.address) is target
                ended = self._clock.monotonic()
                if current and target.state != "draining":
                    if target.record(settings, passed, failure, ended):
                        log.info("target %s:%s is %s", target.id, target.port, target.state)
                        self._changed()
                    target.error = None
        except Exception:
            self._failed(target, "health-checking")
        finally:
            with self._lock:
                target.checking = False
                target.due = started + group.settings.interval
            self._wake.set()

    @staticmethod
    def _failed(target: Target, doing: str) -> None:
        """Log a failure of the checker once per target and kind (it may repeat every interval)."""
        error = traceback.format_exc(limit=-1).strip().splitlines()[-1]
        if error != target.error:
            target.error = error
            log.exception("%s target %s:%s failed", doing, target.id, target.port)
        else:
            log.debug("%s target %s:%s failed again: %s", doing, target.id, target.port, error)
