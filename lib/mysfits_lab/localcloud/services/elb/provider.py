"""Elastic Load Balancing (v2): moto records load balancers, listeners and target groups; this
provider makes them carry traffic.

- **Listeners.** Every listener gets a real TCP port on 127.0.0.1 for its lifetime (a layer-4
  proxy, ``core/tcp_proxy.py``): each connection goes to the next healthy target of the
  listener's forward target group(s), round robin; with no healthy target the connection is
  reset.
- **Targets.** RegisterTargets/DeregisterTargets (from users and from ECS) start and stop health
  checks that follow the target group's settings (``health.py``). Intervals are short (the
  workshop's 10 s × 3 checks: healthy 0.4 s after the task first answers), but a probe
  waits 5 s at least and a target is unhealthy only after failing for 10 s at least, so a busy
  laptop's stalls do not get healthy tasks replaced (``models.py``). An ECS task is the ip
  target ``<its loopback address>:<containerPort>`` (``127.x.y.z:8080``), as a Fargate task is
  ``<its ENI's IP>:<containerPort>``; checks and connections go there. moto keys targets by Id
  alone, so several targets of one IP on different ports (``127.0.0.1`` ones, registered by
  hand or by tasks where loopback has no other address) exist only here; moto still validates
  each registration and is told of each deregistration.
- **Passive health.** New connections go around a target that leaves requests unanswered for
  over half a second (a frozen process), without changing its reported health
  (``tcp_proxy.py``).
- **Settings** are checked as AWS checks them at CreateTargetGroup and ModifyTargetGroup
  (``validation.py``: the matcher's codes, the path; the edge checks the model's ranges):
  ``ValidationError``. A matcher set on a TCP group (an NLB's HTTP health check) is kept here,
  since moto drops it.
- **Draining.** A deregistered target is ``draining`` (no new connections) until its open
  connections through the proxy are closed, or at most its scaled deregistration delay (5 s at
  least, unless the delay is shorter).
- **DescribeTargetHealth** is answered from that state: ``initial``, ``healthy``, ``unhealthy``,
  ``draining``, ``unused`` when no listener forwards to the group, ``unavailable`` when health
  checks are disabled (traffic then goes to every target).
- **DescribeLoadBalancers** reports ``active`` (moto stays at ``provisioning``).

Every call is answered in the region it was signed for: state is keyed by ARN, and ARNs carry
the region.

``GET /_localcloud/loadbalancers`` lists every load balancer of every region seen as
``{<key>: {"arn", "dns_name", "type", "region", "listeners": {"<port>": "http://127.0.0.1:<n>"}}}``
where the key is the name, or ``<region>/<name>`` when the name is taken in another region (the
cloud's default region keeps plain names). ``GET /_localcloud/loadbalancers/<name>`` is the one
of that name (the default region's when several regions have it), and
``GET /_localcloud/loadbalancers/<region>/<name>`` the one in a given region.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.wrappers import Request

from ...constants import LOOPBACK
from ...core.provider import Context, Provider
from ...core.tcp_proxy import TcpProxy
from ...edge import Call, ControlRule, MotoFailed, Route, ServiceError
from .health import HealthChecker
from .models import (
    Address,
    HealthCheck,
    Listener,
    LoadBalancer,
    TargetGroup,
    find_by_name,
    forward_groups,
    listing_keys,
    region_of,
)
from .validation import InvalidHealthCheck, check_health_check

log = logging.getLogger("mysfits_lab.localcloud.elb")

Handler = Callable[[Call], dict[str, Any]]


class LoadBalancerProvider(Provider):
    name = "loadbalancers"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.proxy = TcpProxy(LOOPBACK)
        self.health = HealthChecker(ctx.clock, self.proxy.active_connections, ctx.changes.notify)
        self.balancers: dict[str, LoadBalancer] = {}
        self.listeners: dict[str, Listener] = {}
        self._regions = {ctx.region}  # where to look for load balancers made behind our back
        # Matchers set by ModifyTargetGroup on groups whose protocol is not HTTP(S): AWS keeps
        # them (an NLB's HTTP health check has one), moto drops them.
        self._matchers: dict[str, dict[str, str]] = {}
        self._lock = threading.RLock()

    def routes(self) -> list[Route]:
        handlers: dict[str, Handler] = {
            "CreateLoadBalancer": self._create_load_balancer,
            "DescribeLoadBalancers": self._describe_load_balancers,
            "DeleteLoadBalancer": self._delete_load_balancer,
            "CreateTargetGroup": self._create_target_group,
            "DescribeTargetGroups": self._describe_target_groups,
            "CreateListener": self._create_listener,
            "ModifyListener": self._modify_listener,
            "DeleteListener": self._delete_listener,
            "ModifyTargetGroup": self._modify_target_group,
            "ModifyTargetGroupAttributes": self._modify_target_group_attributes,
            "DeleteTargetGroup": self._delete_target_group,
            "RegisterTargets": self._register_targets,
            "DeregisterTargets": self._deregister_targets,
            "DescribeTargetHealth": self._describe_target_health,
        }
        return [Route("elbv2", op, self._noting_region(h)) for op, h in handlers.items()]

    def control(self) -> list[ControlRule]:
        return [
            ControlRule("", self._list),
            ControlRule("/<name>", self._one),
            ControlRule("/<region>/<name>", self._one),
        ]

    def _noting_region(self, handler: Handler) -> Handler:
        def handle(call: Call) -> dict[str, Any]:
            with self._lock:
                self._regions.add(call.region)
            return handler(call)

        return handle

    # -- load balancers and listeners -------------------------------------------------------
    def _create_load_balancer(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        with self._lock:
            for data in answer.get("LoadBalancers", []):
                self.balancers.setdefault(data["LoadBalancerArn"], LoadBalancer.from_api(data))
        return answer

    def _describe_load_balancers(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        for data in answer.get("LoadBalancers", []):
            # Provisioning is instant here: listeners are up as soon as they are created.
            if data.get("State", {}).get("Code") == "provisioning":
                data["State"]["Code"] = "active"
        return answer

    def _delete_load_balancer(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        with self._lock:
            balancer = self.balancers.pop(call.params.get("LoadBalancerArn", ""), None)
        for arn in balancer.listeners if balancer else []:
            self._close_listener(arn)
        return answer

    def _create_listener(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        for data in answer.get("Listeners", []):
            self._open_listener(call.region, data)
        return answer

    def _modify_listener(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        with self._lock:
            for data in answer.get("Listeners", []):
                listener = self.listeners.get(data["ListenerArn"])
                if listener is not None:
                    listener.group_arns = forward_groups(data.get("DefaultActions"))
                    listener.port = int(data.get("Port") or listener.port)
        return answer

    def _delete_listener(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        self._close_listener(call.params.get("ListenerArn", ""))
        return answer

    def _open_listener(self, region: str, data: dict[str, Any]) -> None:
        balancer = self._balancer(region, data["LoadBalancerArn"])
        with self._lock:
            listener = self.listeners.setdefault(data["ListenerArn"], Listener.from_api(data))
            if balancer is not None and listener.arn not in balancer.listeners:
                balancer.listeners.append(listener.arn)
        listener.local_port = self.proxy.open(listener.arn, self._chooser(listener.arn))
        log.info(
            "listener %s:%s of %s on %s:%s",
            listener.protocol,
            listener.port,
            balancer.name if balancer else listener.lb_arn,
            LOOPBACK,
            listener.local_port,
        )

    def _close_listener(self, arn: str) -> None:
        with self._lock:
            listener = self.listeners.pop(arn, None)
            balancer = self.balancers.get(listener.lb_arn) if listener else None
            if balancer is not None and arn in balancer.listeners:
                balancer.listeners.remove(arn)
        self.proxy.close(arn)

    def _balancer(self, region: str, arn: str) -> LoadBalancer | None:
        with self._lock:
            if arn in self.balancers:
                return self.balancers[arn]
        try:  # created behind our back (CloudFormation): ask moto
            found = self._elbv2(region).describe_load_balancers(LoadBalancerArns=[arn])
        except (ClientError, BotoCoreError):
            return None
        with self._lock:
            for data in found["LoadBalancers"]:
                return self.balancers.setdefault(arn, LoadBalancer.from_api(data))
        return None

    def _chooser(self, listener_arn: str) -> Callable[[], list[Address]]:
        def choose() -> list[Address]:
            with self._lock:
                listener = self.listeners.get(listener_arn)
                if listener is None:
                    return []
                return listener.rotate(self.health.routable(listener.group_arns))

        return choose

    # -- target groups and targets ----------------------------------------------------------
    def _elbv2(self, region: str) -> Any:
        return self.ctx.client("elbv2", region)

    def _settings(self, region: str, arn: str) -> HealthCheck:
        elbv2 = self._elbv2(region)
        group = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
        attributes = elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
        return HealthCheck.from_api(
            group, {a["Key"]: a["Value"] for a in attributes}, self.ctx.clock
        )

    def _group(self, region: str, arn: str) -> TargetGroup:
        """The group's state here, its settings read from moto the first time."""
        return self.health.group(arn) or self.health.add_group(arn, self._settings(region, arn))

    @staticmethod
    def _addresses(group: TargetGroup, targets: list[dict[str, Any]]) -> list[Address]:
        return [(t["Id"], group.settings.target_port(t.get("Port"))) for t in targets]

    def _create_target_group(self, call: Call) -> dict[str, Any]:
        params = call.params
        protocol = "TCP" if params.get("TargetType") == "alb" else params.get("Protocol")
        _check(params, protocol)
        return call.moto()

    def _describe_target_groups(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        with self._lock:
            for group in answer.get("TargetGroups", []):
                if group["TargetGroupArn"] in self._matchers:
                    group["Matcher"] = self._matchers[group["TargetGroupArn"]]
        return answer

    def _modify_target_group(self, call: Call) -> dict[str, Any]:
        params = call.params
        arn = params.get("TargetGroupArn", "")
        try:
            found = self._elbv2(call.region).describe_target_groups(TargetGroupArns=[arn])
        except ClientError:
            return call.moto()  # moto names what is wrong with the ARN
        _check(params, found["TargetGroups"][0].get("Protocol"))
        answer = call.moto()
        matcher = params.get("Matcher")
        with self._lock:
            for group in answer.get("TargetGroups", []):
                if matcher and group.get("Matcher") != matcher:
                    self._matchers[arn] = group["Matcher"] = matcher
        self._refresh(call.region, arn)
        return answer

    def _modify_target_group_attributes(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        self._refresh(call.region, call.params.get("TargetGroupArn", ""))
        return answer

    def _refresh(self, region: str, arn: str) -> None:
        """Checks of a group with targets follow its new settings from now on."""
        if self.health.group(arn) is not None:
            self.health.update_settings(arn, self._settings(region, arn))

    def _delete_target_group(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        arn = call.params.get("TargetGroupArn", "")
        self.health.remove_group(arn)
        with self._lock:
            self._matchers.pop(arn, None)
        return answer

    def _register_targets(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        group = self._group(call.region, call.params["TargetGroupArn"])
        self.health.register(group, self._addresses(group, call.params.get("Targets", [])))
        return answer

    def _deregister_targets(self, call: Call) -> dict[str, Any]:
        # Targets known here are drained here; the others go to moto for its validation errors.
        group = self.health.group(call.params.get("TargetGroupArn", ""))
        if group is None or region_of(group.arn) != call.region:
            return call.moto()
        addresses = self._addresses(group, call.params.get("Targets", []))
        if self.health.known(group, addresses):
            # moto keys targets by Id alone: of several on one IP it kept the last only, and
            # says the others are not registered. Its record follows as far as it can.
            with contextlib.suppress(MotoFailed):
                call.moto()
            answer: dict[str, Any] = {}
        else:
            answer = call.moto()
        self.health.deregister(group, addresses)
        return answer

    def _describe_target_health(self, call: Call) -> dict[str, Any]:
        call.moto()  # moto validates the request and the group
        group = self._group(call.region, call.params["TargetGroupArn"])
        addresses = self._addresses(group, call.params.get("Targets", []))
        with self._lock:
            in_use = any(group.arn in listener.group_arns for listener in self.listeners.values())
        return {"TargetHealthDescriptions": self.health.describe(group, addresses, in_use)}

    # -- control route, status, lifecycle ---------------------------------------------------
    def _sync(self) -> None:
        """Open listeners that were created without passing through the edge (CloudFormation),
        in every region a call came from."""
        with self._lock:
            regions = sorted(self._regions)
        for region in regions:
            try:
                elbv2 = self._elbv2(region)
                for page in elbv2.get_paginator("describe_load_balancers").paginate():
                    for data in page["LoadBalancers"]:
                        with self._lock:
                            self.balancers.setdefault(
                                data["LoadBalancerArn"], LoadBalancer.from_api(data)
                            )
                        found = elbv2.describe_listeners(LoadBalancerArn=data["LoadBalancerArn"])
                        for listener in found["Listeners"]:
                            if listener["ListenerArn"] not in self.listeners:
                                self._open_listener(region, listener)
            except (ClientError, BotoCoreError) as exc:
                log.warning("listing load balancers in %s: %s", region, exc)

    def _entry(self, balancer: LoadBalancer) -> dict[str, Any]:
        listeners = [self.listeners[a] for a in balancer.listeners if a in self.listeners]
        return {
            "arn": balancer.arn,
            "dns_name": balancer.dns_name,
            "type": balancer.type,
            "region": balancer.region,
            "listeners": {str(x.port): f"http://{LOOPBACK}:{x.local_port}" for x in listeners},
        }

    def describe(self) -> dict[str, Any]:
        """Every load balancer with its listeners' local URLs (see the module docstring)."""
        with self._lock:
            named = listing_keys(list(self.balancers.values()), self.ctx.region)
            return {key: self._entry(balancer) for key, balancer in named.items()}

    def _list(self, request: Request) -> Any:
        self._sync()
        return self.describe()

    def _one(self, request: Request, name: str, region: str | None = None) -> Any:
        self._sync()
        with self._lock:
            balancers = list(self.balancers.values())
            return self._entry(find_by_name(balancers, name, region, self.ctx.region))

    def status(self) -> dict[str, Any]:
        return {"loadbalancers": self.describe()}

    def start(self) -> None:
        self.health.start()

    def stop(self) -> None:
        self.health.stop()
        self.proxy.shutdown()


def _check(params: dict[str, Any], protocol: str | None) -> None:
    try:
        check_health_check(params, protocol)
    except InvalidHealthCheck as exc:
        raise ServiceError("ValidationError", str(exc)) from None
