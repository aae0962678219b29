"""Elastic Load Balancing (v2): moto records load balancers, listeners and target groups; this
provider makes them carry traffic.

- **Listeners.** Every listener gets a real TCP port on 127.0.0.1 for its lifetime (a layer-4
  proxy, ``tcp_proxy.py``): each connection goes to the next healthy target of the listener's
  forward target group(s), round robin; with no healthy target the connection is reset. The
  local URL is served at ``GET /_localcloud/loadbalancers[/<name>]`` as
  ``{<name>: {"arn", "dns_name", "type", "listeners": {"<port>": "http://127.0.0.1:<local>"}}}``.
- **Targets.** RegisterTargets/DeregisterTargets (from users and from the ECS provider) start and
  stop health checks that follow the target group's settings: protocol (HTTP/HTTPS/TCP), path,
  matcher, port (``traffic-port``; a numeric port equal to the group's port means the target's
  own port, because local targets listen on remapped ports), thresholds. On loopback the clock
  runs ten times faster: interval and timeout are divided by 10 (at least 0.2 s and 0.5 s), so
  the workshop's 10 s × 3 checks take about 2 s. The first check runs at registration. (moto
  keys targets by Id alone, so several ``127.0.0.1`` targets exist only here; moto still
  validates each registration.)
- **Draining.** A deregistered target is ``draining`` (no new connections) until its open
  connections through the proxy are closed, or at most ``deregistration_delay.timeout_seconds``
  / 10; then it disappears from DescribeTargetHealth.
- **DescribeTargetHealth** is answered from that state in the XML shape botocore parses:
  ``initial`` (``Elb.RegistrationInProgress``, then ``Elb.InitialHealthChecking``), ``healthy``,
  ``unhealthy`` (``Target.FailedHealthChecks``; ALB-style reasons for application LBs),
  ``draining`` (``Target.DeregistrationInProgress``), ``unused`` when no listener forwards to the
  group, ``unavailable`` when health checks are disabled (traffic then goes to every target).
- **DescribeLoadBalancers** reports ``active`` (moto stays at ``provisioning``).
"""

from __future__ import annotations

import http.client
import logging
import re
import socket
import ssl
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from ..awsrequest import AwsRequest
from ..edge import Forward
from .tcp_proxy import TcpProxy

if TYPE_CHECKING:
    from ..server import LocalCloud

log = logging.getLogger("mysfits_lab.localcloud.elb")

SERVICE = "elasticloadbalancing"
XMLNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

# Loopback runs health checks and draining this much faster than AWS.
TIME_SCALE = 0.1
MIN_INTERVAL = 0.2
MIN_TIMEOUT = 0.5
DRAIN_POLL = 0.05

_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


# -- XML helpers ----------------------------------------------------------------------------
def _xml(data: bytes) -> ET.Element:
    """Parse an ELBv2 response with the namespace stripped from every tag."""
    root = ET.fromstring(data)
    for element in root.iter():
        element.tag = element.tag.rsplit("}", 1)[-1]
    return root


def _text(element: ET.Element | None, path: str, default: str = "") -> str:
    found = element.find(path) if element is not None else None
    return found.text if found is not None and found.text is not None else default


def _members(req: AwsRequest, prefix: str) -> list[dict[str, str]]:
    """``Targets.member.1.Id=...`` style parameters as a list of dicts."""
    params = {**{k: v[0] for k, v in req.query.items()}, **{k: v[0] for k, v in req.form.items()}}
    found: dict[int, dict[str, str]] = {}
    pattern = re.compile(rf"^{re.escape(prefix)}\.member\.(\d+)\.(\w+)$")
    for key, value in params.items():
        match = pattern.match(key)
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [found[i] for i in sorted(found)]


def _xml_response(operation: str, result: str) -> Response:
    body = (
        f'<{operation}Response xmlns="{XMLNS}"><{operation}Result>{result}</{operation}Result>'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</{operation}Response>"
    )
    return Response(body, 200, content_type="text/xml")


def matcher_accepts(matcher: str, status: int) -> bool:
    """Whether an HTTP status satisfies a target group matcher ("200", "200,202", "200-299")."""
    for part in matcher.replace(" ", "").split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            if int(low) <= status <= int(high):
                return True
        elif part and int(part) == status:
            return True
    return False


# -- state ----------------------------------------------------------------------------------
@dataclass
class HealthCheck:
    """A target group's health check settings, with the loopback time scale applied."""

    enabled: bool
    protocol: str
    port: str
    path: str
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: str
    group_port: int | None
    drain_seconds: float

    @classmethod
    def from_api(cls, group: dict[str, Any], attributes: dict[str, str]) -> HealthCheck:
        protocol = group.get("HealthCheckProtocol") or group.get("Protocol") or "TCP"
        return cls(
            enabled=group.get("HealthCheckEnabled", True),
            protocol=protocol.upper(),
            port=str(group.get("HealthCheckPort", "traffic-port")),
            path=group.get("HealthCheckPath") or "/",
            interval=max(MIN_INTERVAL, group.get("HealthCheckIntervalSeconds", 30) * TIME_SCALE),
            timeout=max(MIN_TIMEOUT, group.get("HealthCheckTimeoutSeconds", 10) * TIME_SCALE),
            healthy_threshold=int(group.get("HealthyThresholdCount", 5)),
            unhealthy_threshold=int(group.get("UnhealthyThresholdCount", 2)),
            matcher=(group.get("Matcher") or {}).get("HttpCode") or "200-399",
            group_port=group.get("Port"),
            drain_seconds=float(attributes.get("deregistration_delay.timeout_seconds", 300))
            * TIME_SCALE,
        )

    def probe_port(self, target_port: int) -> int:
        if self.port == "traffic-port" or not self.port.isdigit():
            return target_port
        # Local targets listen on remapped ports: the group's own port means "the target's".
        return target_port if int(self.port) == self.group_port else int(self.port)


@dataclass
class Target:
    id: str
    port: int
    state: str = "initial"
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = "Target registration is in progress"
    successes: int = 0
    failures: int = 0
    drain_deadline: float = 0.0
    stopped: bool = False
    # Set to cut a wait short: deregistration must start draining at once, not after a check.
    wake: threading.Event = field(default_factory=threading.Event)

    def sleep(self, seconds: float) -> None:
        self.wake.wait(seconds)
        self.wake.clear()

    def stop(self) -> None:
        self.stopped = True
        self.wake.set()

    @property
    def address(self) -> tuple[str, int]:
        return (self.id, self.port)


@dataclass
class TargetGroup:
    arn: str
    targets: dict[tuple[str, int], Target] = field(default_factory=dict)
    settings: HealthCheck | None = None


@dataclass
class Listener:
    arn: str
    lb_arn: str
    port: int
    protocol: str
    group_arns: list[str]
    local_port: int = 0
    turn: int = 0


@dataclass
class LoadBalancer:
    arn: str
    name: str
    dns_name: str
    type: str
    listeners: list[str] = field(default_factory=list)


class LoadBalancerProvider:
    name = "loadbalancers"

    def __init__(self) -> None:
        self.cloud: LocalCloud | None = None
        self.proxy: TcpProxy | None = None
        self.balancers: dict[str, LoadBalancer] = {}
        self.listeners: dict[str, Listener] = {}
        self.groups: dict[str, TargetGroup] = {}
        self._lock = threading.RLock()

    def attach(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.proxy = TcpProxy()
        hooks = {
            "CreateLoadBalancer": self._create_load_balancer,
            "DescribeLoadBalancers": self._describe_load_balancers,
            "DeleteLoadBalancer": self._delete_load_balancer,
            "CreateListener": self._create_listener,
            "ModifyListener": self._modify_listener,
            "DeleteListener": self._delete_listener,
            "ModifyTargetGroup": self._invalidate_settings,
            "ModifyTargetGroupAttributes": self._invalidate_settings,
            "DeleteTargetGroup": self._delete_target_group,
            "RegisterTargets": self._register_targets,
            "DeregisterTargets": self._deregister_targets,
            "DescribeTargetHealth": self._describe_target_health,
        }
        for operation, handler in hooks.items():
            cloud.edge.on(SERVICE, operation, handler)
        cloud.edge.control_route("loadbalancers", self._control)

    # -- load balancers and listeners --------------------------------------------------------
    def _create_load_balancer(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code == 200:
            for member in _xml(response.get_data()).iter("LoadBalancers"):
                for lb in member.findall("member"):
                    self._remember_balancer(lb)
        return response

    def _remember_balancer(self, lb: ET.Element) -> LoadBalancer:
        arn = _text(lb, "LoadBalancerArn")
        with self._lock:
            known = self.balancers.get(arn)
            if known is None:
                known = self.balancers[arn] = LoadBalancer(
                    arn=arn,
                    name=_text(lb, "LoadBalancerName"),
                    dns_name=_text(lb, "DNSName"),
                    type=_text(lb, "Type", "application"),
                )
            return known

    def _describe_load_balancers(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code == 200:
            # Provisioning is instant here: the listeners are up as soon as they are created.
            data = response.get_data().replace(b"<Code>provisioning</Code>", b"<Code>active</Code>")
            response.set_data(data)
        return response

    def _delete_load_balancer(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code == 200:
            with self._lock:
                lb = self.balancers.pop(req.param("LoadBalancerArn") or "", None)
            for listener_arn in lb.listeners if lb else []:
                self._close_listener(listener_arn)
        return response

    def _create_listener(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code == 200:
            for element in _xml(response.get_data()).iter("Listeners"):
                for member in element.findall("member"):
                    self._open_listener(member)
        return response

    def _modify_listener(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code == 200:
            for element in _xml(response.get_data()).iter("Listeners"):
                for member in element.findall("member"):
                    with self._lock:
                        listener = self.listeners.get(_text(member, "ListenerArn"))
                        if listener is not None:
                            listener.group_arns = _forward_groups(member)
                            listener.port = int(_text(member, "Port", "0") or 0)
        return response

    def _delete_listener(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code == 200:
            self._close_listener(req.param("ListenerArn") or "")
        return response

    def _open_listener(self, member: ET.Element) -> Listener:
        assert self.proxy is not None
        arn = _text(member, "ListenerArn")
        lb_arn = _text(member, "LoadBalancerArn")
        lb = self._balancer(lb_arn)
        with self._lock:
            listener = self.listeners.get(arn)
            if listener is None:
                listener = Listener(
                    arn=arn,
                    lb_arn=lb_arn,
                    port=int(_text(member, "Port", "0") or 0),
                    protocol=_text(member, "Protocol", "TCP"),
                    group_arns=_forward_groups(member),
                )
                self.listeners[arn] = listener
                if lb is not None and arn not in lb.listeners:
                    lb.listeners.append(arn)
        listener.local_port = self.proxy.open(arn, self._chooser(arn))
        log.info(
            "listener %s:%s of %s on 127.0.0.1:%s",
            listener.protocol,
            listener.port,
            lb.name if lb else lb_arn,
            listener.local_port,
        )
        return listener

    def _close_listener(self, arn: str) -> None:
        assert self.proxy is not None
        with self._lock:
            listener = self.listeners.pop(arn, None)
            lb = self.balancers.get(listener.lb_arn) if listener else None
            if lb is not None and arn in lb.listeners:
                lb.listeners.remove(arn)
        self.proxy.close(arn)

    def _balancer(self, arn: str) -> LoadBalancer | None:
        with self._lock:
            if arn in self.balancers:
                return self.balancers[arn]
        try:  # created behind our back (CloudFormation): ask moto
            found = self._elbv2().describe_load_balancers(LoadBalancerArns=[arn])
        except Exception:
            return None
        for lb in found["LoadBalancers"]:
            with self._lock:
                return self.balancers.setdefault(
                    arn,
                    LoadBalancer(arn, lb["LoadBalancerName"], lb["DNSName"], lb.get("Type", "")),
                )
        return None

    def _chooser(self, listener_arn: str):  # noqa: ANN202 - a closure for the proxy
        def choose() -> list[tuple[str, int]]:
            with self._lock:
                listener = self.listeners.get(listener_arn)
                if listener is None:
                    return []
                routable = sorted(
                    target.address
                    for arn in listener.group_arns
                    if arn in self.groups
                    for target in self.groups[arn].targets.values()
                    if target.state in ("healthy", "unavailable") and _IPV4.match(target.id)
                )
                if not routable:
                    return []
                start = listener.turn % len(routable)
                listener.turn += 1
                return routable[start:] + routable[:start]

        return choose

    # -- target groups -----------------------------------------------------------------------
    def _group(self, arn: str) -> TargetGroup:
        with self._lock:
            return self.groups.setdefault(arn, TargetGroup(arn))

    def _settings(self, group: TargetGroup) -> HealthCheck:
        settings = group.settings
        if settings is None:
            elbv2 = self._elbv2()
            described = elbv2.describe_target_groups(TargetGroupArns=[group.arn])["TargetGroups"]
            attributes = elbv2.describe_target_group_attributes(TargetGroupArn=group.arn)
            settings = HealthCheck.from_api(
                described[0], {a["Key"]: a["Value"] for a in attributes["Attributes"]}
            )
            group.settings = settings
        return settings

    def _invalidate_settings(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code == 200:
            with self._lock:
                group = self.groups.get(req.param("TargetGroupArn") or "")
                if group is not None:
                    group.settings = None
        return response

    def _delete_target_group(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code == 200:
            with self._lock:
                group = self.groups.pop(req.param("TargetGroupArn") or "", None)
            for target in group.targets.values() if group else []:
                target.stop()
        return response

    def _register_targets(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code != 200:
            return response
        group = self._group(req.param("TargetGroupArn") or "")
        settings = self._settings(group)
        for member in _members(req, "Targets"):
            port = int(member.get("Port") or settings.group_port or 0)
            key = (member["Id"], port)
            with self._lock:
                target = group.targets.get(key)
                if target is not None and target.state != "draining":
                    continue  # registering twice changes nothing
                if target is not None:
                    target.stop()
                target = group.targets[key] = Target(member["Id"], port)
            threading.Thread(
                target=self._watch,
                args=(group, target),
                name=f"health-{member['Id']}:{port}",
                daemon=True,
            ).start()
        return response

    def _deregister_targets(self, req: AwsRequest, forward: Forward) -> Response:
        # moto keys targets by Id alone, so two ip targets on 127.0.0.1 overwrite each other
        # there: targets we know are deregistered here, and only the others go to moto (for
        # its validation errors).
        arn = req.param("TargetGroupArn") or ""
        with self._lock:
            group = self.groups.get(arn)
        if group is None:
            return forward()
        settings = self._settings(group)
        wanted = [
            (m["Id"], int(m.get("Port") or settings.group_port or 0))
            for m in _members(req, "Targets")
        ]
        with self._lock:
            if not all(key in group.targets for key in wanted):
                return forward()
            for key in wanted:
                target = group.targets[key]
                if target.state == "draining":
                    continue
                target.state = "draining"
                target.reason = "Target.DeregistrationInProgress"
                target.description = "Target deregistration is in progress"
                target.drain_deadline = time.monotonic() + settings.drain_seconds
                target.wake.set()
        return _xml_response("DeregisterTargets", "")

    # -- health checks -----------------------------------------------------------------------
    def _watch(self, group: TargetGroup, target: Target) -> None:
        """One target's life in its group: health checks, then draining, then removal."""
        while not target.stopped:
            if target.state == "draining":
                if self._drained(target):
                    with self._lock:
                        if group.targets.get(target.address) is target:
                            del group.targets[target.address]
                    return
                target.sleep(DRAIN_POLL)
                continue
            try:
                settings = self._settings(group)
            except Exception:  # the group is being deleted, or the cloud is stopping
                target.sleep(1.0)
                continue
            if not settings.enabled:
                self._set(
                    target,
                    "unavailable",
                    "Target.HealthCheckDisabled",
                    "Health checks are disabled",
                )
                target.sleep(settings.interval)
                continue
            started = time.monotonic()
            ok, failure = self._probe(settings, target)
            self._record(group, settings, target, ok, failure)
            target.sleep(max(0.0, settings.interval - (time.monotonic() - started)))

    def _drained(self, target: Target) -> bool:
        assert self.proxy is not None
        idle = self.proxy.active_connections(target.address) == 0
        return idle or time.monotonic() >= target.drain_deadline

    @staticmethod
    def _probe(settings: HealthCheck, target: Target) -> tuple[bool, str | None]:
        """Run one check; returns (passed, why it failed: a status code, "timeout" or None)."""
        port = settings.probe_port(target.port)
        try:
            if settings.protocol in ("HTTP", "HTTPS"):
                if settings.protocol == "HTTPS":
                    connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                        target.id,
                        port,
                        timeout=settings.timeout,
                        context=ssl._create_unverified_context(),  # as the ELB checker does
                    )
                else:
                    connection = http.client.HTTPConnection(
                        target.id, port, timeout=settings.timeout
                    )
                try:
                    connection.request(
                        "GET", settings.path, headers={"User-Agent": "ELB-HealthChecker/2.0"}
                    )
                    status = connection.getresponse().status
                finally:
                    connection.close()
                return matcher_accepts(settings.matcher, status), str(status)
            with socket.create_connection((target.id, port), timeout=settings.timeout):
                return True, None
        except TimeoutError:
            return False, "timeout"
        except (OSError, http.client.HTTPException):
            return False, None

    def _record(
        self,
        group: TargetGroup,
        settings: HealthCheck,
        target: Target,
        ok: bool,
        failure: str | None,
    ) -> None:
        with self._lock:
            if target.state == "draining" or target.stopped:
                return
            if ok:
                target.successes += 1
                target.failures = 0
                if target.successes >= settings.healthy_threshold:
                    self._set(target, "healthy", None, None)
                elif target.state == "initial":
                    self._set(
                        target,
                        "initial",
                        "Elb.InitialHealthChecking",
                        "Initial health checks in progress",
                    )
                return
            target.failures += 1
            target.successes = 0
            if target.failures >= settings.unhealthy_threshold or target.state == "unhealthy":
                reason, description = self._failure_reason(group, failure)
                self._set(target, "unhealthy", reason, description)
            elif target.state == "initial":
                self._set(
                    target,
                    "initial",
                    "Elb.InitialHealthChecking",
                    "Initial health checks in progress",
                )

    def _failure_reason(self, group: TargetGroup, failure: str | None) -> tuple[str, str]:
        application = any(
            self.balancers.get(listener.lb_arn, LoadBalancer("", "", "", "")).type == "application"
            for listener in self.listeners.values()
            if group.arn in listener.group_arns
        )
        if application and failure == "timeout":
            return "Target.Timeout", "Request timed out"
        if application and failure and failure.isdigit():
            return (
                "Target.ResponseCodeMismatch",
                f"Health checks failed with these codes: [{failure}]",
            )
        return "Target.FailedHealthChecks", "Health checks failed"

    @staticmethod
    def _set(target: Target, state: str, reason: str | None, description: str | None) -> None:
        if target.state != state:
            log.info("target %s:%s is %s", target.id, target.port, state)
        target.state, target.reason, target.description = state, reason, description

    def _describe_target_health(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()  # moto validates the request and the group
        if response.status_code != 200:
            return response
        group = self._group(req.param("TargetGroupArn") or "")
        settings = self._settings(group)
        wanted = [
            (m["Id"], int(m.get("Port") or settings.group_port or 0))
            for m in _members(req, "Targets")
        ]
        with self._lock:
            in_use = any(group.arn in listener.group_arns for listener in self.listeners.values())
            keys = wanted or sorted(group.targets)
            members = []
            for key in keys:
                target = group.targets.get(key)
                if target is None:
                    state, reason, description = (
                        "unused",
                        "Target.NotRegistered",
                        "Target is not registered to the target group",
                    )
                elif not in_use and target.state != "draining":
                    state, reason, description = (
                        "unused",
                        "Target.NotInUse",
                        "Target group is not configured to receive traffic from the load balancer",
                    )
                else:
                    state, reason, description = target.state, target.reason, target.description
                health = f"<State>{state}</State>"
                if reason:
                    health += f"<Reason>{reason}</Reason>"
                if description:
                    health += f"<Description>{escape(description)}</Description>"
                members.append(
                    f"<member><Target><Id>{escape(key[0])}</Id><Port>{key[1]}</Port></Target>"
                    f"<HealthCheckPort>{escape(settings.port)}</HealthCheckPort>"
                    f"<TargetHealth>{health}</TargetHealth></member>"
                )
        result = f"<TargetHealthDescriptions>{''.join(members)}</TargetHealthDescriptions>"
        return _xml_response("DescribeTargetHealth", result)

    # -- control route, status, lifecycle ----------------------------------------------------
    def _sync(self) -> None:
        """Open listeners that were created without passing through the edge (CloudFormation)."""
        assert self.cloud is not None
        try:
            elbv2 = self._elbv2()
            balancers = elbv2.describe_load_balancers()["LoadBalancers"]
        except Exception:
            return
        for lb in balancers:
            with self._lock:
                self.balancers.setdefault(
                    lb["LoadBalancerArn"],
                    LoadBalancer(
                        lb["LoadBalancerArn"], lb["LoadBalancerName"], lb["DNSName"], lb["Type"]
                    ),
                )
            for found in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])[
                "Listeners"
            ]:
                if found["ListenerArn"] in self.listeners:
                    continue
                member = ET.Element("member")
                for key in ("ListenerArn", "LoadBalancerArn", "Port", "Protocol"):
                    ET.SubElement(member, key).text = str(found.get(key, ""))
                actions = ET.SubElement(member, "DefaultActions")
                for action in found.get("DefaultActions", []):
                    entry = ET.SubElement(actions, "member")
                    ET.SubElement(entry, "Type").text = action.get("Type", "")
                    if action.get("TargetGroupArn"):
                        ET.SubElement(entry, "TargetGroupArn").text = action["TargetGroupArn"]
                self._open_listener(member)

    def describe(self) -> dict[str, Any]:
        """Every load balancer with its listeners' local URLs."""
        with self._lock:
            return {
                lb.name: {
                    "arn": lb.arn,
                    "dns_name": lb.dns_name,
                    "type": lb.type,
                    "listeners": {
                        str(self.listeners[arn].port): (
                            f"http://127.0.0.1:{self.listeners[arn].local_port}"
                        )
                        for arn in lb.listeners
                        if arn in self.listeners
                    },
                }
                for lb in sorted(self.balancers.values(), key=lambda lb: lb.name)
            }

    def _control(self, request: Request) -> Any:
        self._sync()
        name = request.path.rstrip("/").split("/")[-1]
        everything = self.describe()
        if name == "loadbalancers":
            return everything
        if name not in everything:
            raise LookupError(f"no load balancer named {name!r}")
        return everything[name]

    def _elbv2(self) -> Any:
        assert self.cloud is not None
        return self.cloud.client("elbv2")

    def status(self) -> dict[str, Any]:
        return {"loadbalancers": self.describe()}

    def stop(self) -> None:
        with self._lock:
            targets = [t for g in self.groups.values() for t in g.targets.values()]
        for target in targets:
            target.stop()
        if self.proxy is not None:
            self.proxy.shutdown()


def _forward_groups(member: ET.Element) -> list[str]:
    """Target group ARNs a listener's default actions forward to."""
    groups: list[str] = []
    actions = member.find("DefaultActions")
    for element in actions.iter("TargetGroupArn") if actions is not None else []:
        if element.text and element.text not in groups:
            groups.append(element.text)
    return groups
