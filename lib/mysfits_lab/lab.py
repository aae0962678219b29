"""``Lab``: one learner's connection to a target — the local cloud (default) or a real AWS account.

Both targets share one code path: a boto3 session, with an ``endpoint_url`` on local. This
module and ``localcloud`` are the only places that know a target is local.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from . import show
from .calls import CallRecorder, attach, watch_cells
from .outputs import OutputsStore
from .paths import learner_dir

TARGETS = ("local", "aws")
DEFAULT_LEARNER = "mysfit"
WORKSHOP_TAG = "mysfits-lab"
_LEARNER_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")

# S3 website endpoints: these regions use "s3-website-<region>", all others "s3-website.<region>".
_DASH_WEBSITE_REGIONS = {
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "eu-west-1",
    "sa-east-1",
    "us-gov-west-1",
}


class LabError(RuntimeError):
    """Bad input or state, with a message that says how to fix it."""


def validate_learner(learner: str) -> str:
    if not isinstance(learner, str) or not _LEARNER_RE.match(learner):
        raise LabError(
            f"learner must be 1-20 characters of lower-case letters, digits and hyphens, "
            f"starting with a letter (got {learner!r}); it prefixes every resource name"
        )
    return learner


def validate_target(target: str) -> str:
    if target not in TARGETS:
        raise LabError(f"target must be one of {', '.join(TARGETS)} (got {target!r})")
    return target


@functools.cache
def known_regions() -> tuple[str, ...]:
    """The regions of the commercial, China and GovCloud partitions, from botocore's endpoint
    data (no network, and no AWS profile needed: a broken profile must not hide a typo)."""
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(create_loader().load_data("endpoints"))
    return tuple(
        region
        for partition in ("aws", "aws-cn", "aws-us-gov")
        for region in resolver.get_available_endpoints("s3", partition_name=partition)
    )


def validate_region(region: str) -> str:
    regions = known_regions()
    if region not in regions:
        close = difflib.get_close_matches(str(region), regions, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise LabError(f"unknown region {region!r}.{hint} Valid regions: {', '.join(regions)}")
    return region


def cloud_restarted_message(old: str | None, new: str | None) -> str:
    """What a restarted (or stopped) local cloud means and how to go on: the same words whether
    ``Lab.connect`` notices it or a call from an open kernel does."""
    if new is None:
        what = f"The local cloud (instance {old}) is not running any more"
    else:
        what = f"The local cloud was restarted (instance {old} → {new})"
    return (
        f"{what}; it keeps its resources in memory only, so everything built before is gone. "
        "Rerun the notebooks from 01-static-site (or `mysfits-lab run --from 01`); each "
        "notebook's prepare step also rebuilds what it needs."
    )


def s3_website_url(bucket: str, region: str) -> str:
    separator = "-" if region in _DASH_WEBSITE_REGIONS else "."
    return f"http://{bucket}.s3-website{separator}{region}.amazonaws.com"


@dataclass
class Lab:
    target: str
    region: str
    learner: str
    session: boto3.Session
    account: str
    endpoint_url: str | None = None
    cloud_instance: str | None = None
    cloud_restarted: bool = False
    outputs: OutputsStore = field(init=False)
    _clients: dict[str, Any] = field(init=False, default_factory=dict, repr=False)
    calls: CallRecorder = field(init=False, repr=False)  # every AWS call made through session

    def __post_init__(self) -> None:
        self.outputs = OutputsStore(learner_dir(self.learner) / "outputs.json", self.learner)
        # before any client exists: clients copy the session's hooks when they are created
        self.calls = attach(self.session, self.endpoint_url)

    # -- connecting ---------------------------------------------------------------------
    @classmethod
    def connect(
        cls,
        target: str | None = None,
        region: str | None = None,
        learner: str | None = None,
        profile: str | None = None,
        show_calls: bool | None = None,
    ) -> Lab:
        """Connect to the target; on local, start the embedded cloud when it is not running.

        A value left at None comes from the settings (``mysfits-lab settings``)."""
        from . import settings

        chosen = settings.resolve(target=target, region=region, learner=learner)
        if chosen.target == "local":
            lab = cls._connect_local(chosen.region, chosen.learner)
            lab._watch_cloud()  # before any client exists: clients copy the session's hooks
        else:
            lab = cls._connect_aws(chosen.region, chosen.learner, profile)
        lab._check_cloud_instance()
        # under each cell, the AWS calls it made; None: in a learner's notebook, not papermill
        lab.calls.show = show_calls
        watch_cells()
        return lab

    @classmethod
    def _connect_local(cls, region: str, learner: str) -> Lab:
        from .localcloud import control
        from .localcloud.constants import ACCOUNT_ID, DUMMY_CREDENTIALS

        cloud = control.up(region=region)
        # SDKs that build their own clients (the SageMaker SDK, the service, functions) find
        # the local cloud through the standard environment variables.
        os.environ.update(
            AWS_ENDPOINT_URL=cloud.edge_url,
            AWS_ACCESS_KEY_ID=DUMMY_CREDENTIALS["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=DUMMY_CREDENTIALS["aws_secret_access_key"],
            AWS_DEFAULT_REGION=region,
            AWS_REGION=region,
        )
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        session = boto3.Session(region_name=region, **DUMMY_CREDENTIALS)
        return cls("local", region, learner, session, ACCOUNT_ID, cloud.edge_url, cloud.instance_id)

    @classmethod
    def _connect_aws(cls, region: str, learner: str, profile: str | None) -> Lab:
        from botocore.exceptions import BotoCoreError, ClientError

        if os.environ.get("AWS_ENDPOINT_URL"):
            raise LabError(
                "AWS_ENDPOINT_URL is set in this environment, so AWS calls would not reach AWS; "
                "unset it (or restart the kernel) before using target='aws'"
            )
        session = boto3.Session(profile_name=profile, region_name=region)
        attach(session)  # before the identity check, so that call is listed too
        try:
            account = session.client("sts").get_caller_identity()["Account"]
        except (BotoCoreError, ClientError) as exc:
            raise LabError(
                f"cannot reach AWS with the current credentials ({exc}). Configure them with "
                "`aws configure` or AWS_PROFILE; credentials are never notebook parameters"
            ) from exc
        return cls("aws", region, learner, session, account)

    def _check_cloud_instance(self) -> None:
        """A restarted local cloud has lost every resource: the old outputs are stale."""
        recorded = self.outputs.get_or("lab.cloud_instance")
        if self.is_local and recorded and recorded != self.cloud_instance:
            archived = self.outputs.archive()
            self.cloud_restarted = True
            show.warning(
                f"{cloud_restarted_message(recorded, self.cloud_instance)} "
                f"The old outputs were moved to {archived}."
            )
        self._check_region()
        connection = {
            "lab.target": self.target,
            "lab.region": self.region,
            "lab.account": self.account,
        }
        if self.is_local:
            connection["lab.cloud_instance"] = self.cloud_instance
        self.outputs.record("00-setup", connection)

    def _check_region(self) -> None:
        """A learner's resources live in one region: connecting to another would build a second
        set and overwrite the recorded URLs with theirs."""
        recorded = self.outputs.get_or("lab.region")
        built = [group for group in self.outputs.values() if group != "lab"]
        if not recorded or recorded == self.region or not built:
            return
        raise LabError(
            f"Learner '{self.learner}' already has resources in {recorded} "
            f"(outputs: {', '.join(built)}), not in {self.region}. Work in {recorded}: "
            f'`mysfits-lab settings --region {recorded}`, or region = "{recorded}" in the '
            f"parameters cell. To move to {self.region}, first tear them down: run the notebooks "
            f'with region = "{recorded}" and clean_up = True. Or use another learner name '
            f"for {self.region}."
        )

    def _watch_cloud(self) -> None:
        """Turn a failed call into the restart message when the local cloud behind this lab has
        been restarted or stopped: an open kernel otherwise shows a raw 'not found'."""
        self.session.events.register("after-call", self._after_call)
        self.session.events.register("after-call-error", self._after_call_error)

    def _after_call(self, http_response: Any, event_name: str, **_: Any) -> None:
        if http_response.status_code >= 400:
            self.check_cloud(event_name.split(".", 1)[1])  # "after-call.s3.GetObject"

    def _after_call_error(self, event_name: str, **_: Any) -> None:
        self.check_cloud(event_name.split(".", 1)[1])

    def check_cloud(self, failed: str = "a call") -> None:
        """Raise ``LabError`` when the local cloud is no longer the one this lab connected to."""
        if not self.is_local:
            return
        from .localcloud import control

        current = control.status()
        if current.instance_id == self.cloud_instance:
            return
        raise LabError(
            f"{failed} failed: {cloud_restarted_message(self.cloud_instance, current.instance_id)} "
            "In this notebook, run the cells again from the top: `Lab.connect` starts the cloud "
            "when needed and sets the old outputs aside."
        )

    # -- clients ------------------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        return self.target == "local"

    def client(self, service: str) -> Any:
        """A boto3 client for this target (cached: creating clients is slow)."""
        if service not in self._clients:
            config = Config(retries={"max_attempts": 3 if self.is_local else 8, "mode": "standard"})
            self._clients[service] = self.session.client(
                service, endpoint_url=self.endpoint_url, config=config
            )
        return self._clients[service]

    def resource(self, service: str) -> Any:
        return self.session.resource(service, endpoint_url=self.endpoint_url)

    @property
    def waiter_config(self) -> dict[str, int]:
        """boto3 waiters poll every 15-30 s by default; the local cloud answers at once."""
        return (
            {"Delay": 1, "MaxAttempts": 300} if self.is_local else {"Delay": 10, "MaxAttempts": 180}
        )

    @property
    def poll_interval(self) -> float:
        return 0.2 if self.is_local else 5.0

    def wait_budget(self, aws_seconds: float) -> float:
        """How long to wait for something that takes up to ``aws_seconds`` on AWS; the local
        cloud is faster, so a learner hears about a stuck resource sooner."""
        return aws_seconds / 7.5 if self.is_local else aws_seconds

    @property
    def where(self) -> str:
        return "the embedded local cloud" if self.is_local else "AWS"

    # -- names and tags -----------------------------------------------------------------
    def name(self, base: str) -> str:
        """A learner-prefixed resource name, e.g. ``mysfit-MythicalMysfits-Cluster``."""
        return f"{self.learner}-{base}"

    def bucket_name(self, purpose: str) -> str:
        """Globally unique on AWS: learner, purpose, account and region."""
        return f"mysfits-{self.learner}-{purpose}-{self.account}-{self.region}"[:63].rstrip("-")

    @property
    def tags(self) -> dict[str, str]:
        return {"workshop": WORKSHOP_TAG, "learner": self.learner}

    def tag_list(self, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        return [{key: k, value: v} for k, v in self.tags.items()]

    # -- URLs a learner visits -----------------------------------------------------------
    def website_url(self, bucket: str) -> str:
        if self.is_local:
            from .localcloud import control

            try:
                return control.control_get(f"websites/{bucket}")["url"]
            except (LookupError, control.CloudError):
                self.check_cloud(f"the website of {bucket}")
                raise
        return s3_website_url(bucket, self.region)

    def load_balancer_url(self, name: str, dns_name: str, port: int = 80) -> str:
        """Where a browser reaches a load balancer's listener."""
        if self.is_local:
            from .localcloud import control

            try:
                found = control.control_get(f"loadbalancers/{self.region}/{name}")
            except (LookupError, control.CloudError):
                self.check_cloud(f"the load balancer {name}")
                raise
            return found["listeners"][str(port)]
        return f"http://{dns_name}" if port == 80 else f"http://{dns_name}:{port}"

    def api_url(self, api_id: str, stage: str) -> str:
        """The invoke URL of a REST API's stage (``.../<stage>``)."""
        if self.is_local:
            from .localcloud import control

            try:
                return control.control_get(f"apigateway/{api_id}/{stage}")["url"]
            except (LookupError, control.CloudError):
                self.check_cloud(f"stage {stage} of API {api_id}")
                raise
        return f"https://{api_id}.execute-api.{self.region}.amazonaws.com/{stage}"

    # -- module prerequisites -----------------------------------------------------------
    def prepare(self, module: str) -> None:
        """Build what ``module`` needs from earlier modules when it is missing."""
        from . import workbook
        from .steps import builder

        if module not in workbook.notebooks():
            known = ", ".join(workbook.notebooks())
            raise LabError(f"unknown module {module!r}; known: {known}")
        for needed in workbook.module(module).prerequisites:
            build, is_built = builder(needed)
            if not is_built(self):
                show.note(
                    f"{needed} has not been run for learner '{self.learner}': building it now."
                )
                build(self)
        show.note(
            f"Ready for {module} (target {self.target}, region {self.region}, "
            f"learner {self.learner})."
        )

    def __repr__(self) -> str:
        where = self.endpoint_url or f"account {self.account}"
        return (
            f"Lab(target={self.target!r}, region={self.region!r}, "
            f"learner={self.learner!r}, {where})"
        )
