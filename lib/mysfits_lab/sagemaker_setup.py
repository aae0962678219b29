"""Run a SageMaker Python SDK v2 notebook written for AWS on the local cloud, unchanged after
one setup cell::

    from mysfits_lab.sagemaker_setup import use_local_cloud
    use_local_cloud()

after which ``sagemaker.Session()``, ``session.default_bucket()``,
``sagemaker.get_execution_role()``, estimators, ``deploy`` and ``predict`` work as on AWS.

Why a cell is needed at all: ``AWS_ENDPOINT_URL`` (what ``Lab.connect`` sets) sends every client
created without an explicit endpoint to the edge, but the SDK creates its STS client with an
explicit one, ``sts_regional_endpoint(region)`` (``https://sts.<region>.amazonaws.com``), to
name the default bucket (``sagemaker-<region>-<account>``) and to find the execution role; an
explicit ``endpoint_url`` wins over every environment variable, ``AWS_ENDPOINT_URL_STS``
included. And ``get_execution_role()`` off a SageMaker notebook instance only accepts an
identity that is a role.

What the cell does, and nothing else:

1. starts the local cloud unless it runs (as ``Lab.connect`` does);
2. makes sure the role ``mysfits-lab-sagemaker-execution`` exists (trusted by
   ``sagemaker.amazonaws.com``) and assumes it through the cloud's STS, so the notebook runs
   as that role, as it would on a notebook instance: ``GetCallerIdentity`` answers
   ``arn:aws:sts::<account>:assumed-role/mysfits-lab-sagemaker-execution/<session>`` and the
   SDK turns that into the role's ARN;
3. makes boto3's default session (``boto3.DEFAULT_SESSION``, the one ``sagemaker.Session()`` and
   ``boto3.client()`` use when given none) a ``LocalCloudSession``: its clients reach the edge
   even when asked for an endpoint on ``amazonaws.com`` — the SDK's STS client is the one that
   is; no SDK function is patched;
4. exports ``AWS_ENDPOINT_URL``, the role's temporary credentials and the region, for code that
   builds its own boto3 session (pandas reading ``s3://``, the AWS CLI in a ``!`` line).

IAM is recorded, not enforced, on the local cloud: the role needs no policies. Restart the
kernel to talk to AWS again.
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

from .localcloud.constants import DUMMY_CREDENTIALS

EXECUTION_ROLE = "mysfits-lab-sagemaker-execution"
ROLE_SESSION = "mysfits-lab-notebook"
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
_AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
_CLIENT_SIGNATURE = inspect.signature(boto3.Session.client)


def is_aws_endpoint(url: str) -> bool:
    """Whether ``url`` names a host of AWS itself (``https://sts.us-east-1.amazonaws.com``)."""
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith(_AWS_DOMAINS)


class LocalCloudSession(boto3.Session):
    """A boto3 session whose clients all reach the local cloud's edge: a client asked for
    without an endpoint, or for an endpoint on AWS's own domains, gets the edge's URL."""

    def __init__(self, edge_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.edge_url = edge_url

    def client(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        bound = _CLIENT_SIGNATURE.bind(self, *args, **kwargs)
        endpoint = bound.arguments.get("endpoint_url")
        if endpoint is None or is_aws_endpoint(endpoint):
            bound.arguments["endpoint_url"] = self.edge_url
        return super().client(*bound.args[1:], **bound.kwargs)


@dataclass(frozen=True)
class LocalCloudSetup:
    edge_url: str
    region: str
    role_arn: str
    identity: str  # what STS answers: the assumed role
    boto_session: LocalCloudSession

    def __repr__(self) -> str:
        return (
            f"SageMaker SDK → local cloud at {self.edge_url} ({self.region}); "
            f"execution role {self.role_arn}"
        )


def use_local_cloud(region: str | None = None) -> LocalCloudSetup:
    """The setup cell: everything the SDK (and boto3) creates from now on in this kernel
    reaches the local cloud, as the role ``mysfits-lab-sagemaker-execution``."""
    from . import settings
    from .localcloud import control

    region = settings.resolve(region=region).region
    edge_url = control.up(region=region).edge_url
    assert edge_url is not None  # a running cloud always names its edge
    base = boto3.Session(region_name=region, **DUMMY_CREDENTIALS)
    role_arn = ensure_execution_role(base.client("iam", endpoint_url=edge_url))
    assumed = base.client("sts", endpoint_url=edge_url).assume_role(
        RoleArn=role_arn, RoleSessionName=ROLE_SESSION
    )["Credentials"]
    credentials = {
        "aws_access_key_id": assumed["AccessKeyId"],
        "aws_secret_access_key": assumed["SecretAccessKey"],
        "aws_session_token": assumed["SessionToken"],
    }
    session = LocalCloudSession(edge_url, region_name=region, **credentials)
    identity = session.client("sts").get_caller_identity()["Arn"]
    os.environ.update(
        AWS_ENDPOINT_URL=edge_url,
        AWS_ACCESS_KEY_ID=credentials["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=credentials["aws_secret_access_key"],
        AWS_SESSION_TOKEN=credentials["aws_session_token"],
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
    )
    os.environ.pop("AWS_PROFILE", None)  # a profile would override the credentials above
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    boto3.DEFAULT_SESSION = session
    return LocalCloudSetup(edge_url, region, role_arn, identity, session)


def local_session(region: str | None = None, **kwargs: Any) -> Any:
    """``use_local_cloud()``, then a ``sagemaker.Session`` on it (``kwargs`` go to the
    Session: ``default_bucket=``, ``sagemaker_config=``...)."""
    import sagemaker

    setup = use_local_cloud(region)
    return sagemaker.Session(boto_session=setup.boto_session, **kwargs)


def ensure_execution_role(iam: Any, name: str = EXECUTION_ROLE) -> str:
    """The role's ARN, creating it (trusted by SageMaker) if needed."""
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
    try:
        created = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(_TRUST),
            Description="The identity of SageMaker SDK notebooks on the local cloud",
        )
    except ClientError as exc:  # created meanwhile by another kernel
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    return created["Role"]["Arn"]
