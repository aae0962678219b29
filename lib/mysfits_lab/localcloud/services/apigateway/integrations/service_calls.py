"""How ``AWS`` and ``AWS_PROXY`` integrations reach the cloud's services: through its AWS API
on the edge, as any client would, signed (SigV4) with the cloud's dummy credentials.

- ``call``: one raw HTTP request — the integration request as API Gateway sends it (the
  rendered body unchanged, ``X-Amz-Target`` for an ``action/`` of a JSON service) — and the
  service's raw answer (status, headers, body), which is what an integration response maps.
- ``invoke``: Lambda's Invoke through boto3 (``FunctionName``, ``Payload``), its read timeout
  the integration's timeout and no retries (a retried Invoke would run the function twice); the
  request's ``X-Amzn-Trace-Id`` goes along as an HTTP header, as API Gateway passes it (the
  Lambda provider continues the trace when the function is traced).

Neither knows API Gateway's answers: a timeout raises ``Timeout``, a connection that fails
raises ``Unreachable``; the integrations turn them into 504 / 500.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeout

from ....constants import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY

MAX_ANSWER = 10 * 1024 * 1024  # API Gateway's payload limit


class Timeout(Exception):  # noqa: N818
    """The service did not answer within the integration's timeout."""


class Unreachable(Exception):  # noqa: N818
    """The service could not be reached (the cloud is stopping), or its answer could not be
    read whole (broken off, over 10 MB)."""


@dataclass
class ServiceAnswer:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Invoked:
    """Lambda's Invoke answer: the function's payload, and its FunctionError if it failed."""

    payload: bytes
    function_error: str | None = None


class AwsServices:
    def __init__(self, edge_url: str):
        self.edge_url = edge_url.rstrip("/")
        self._http = urllib3.PoolManager(num_pools=4, maxsize=32, retries=False)
        self._credentials = Credentials(DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY)
        self._session = boto3.session.Session(
            aws_access_key_id=DUMMY_ACCESS_KEY, aws_secret_access_key=DUMMY_SECRET_KEY
        )
        self._clients: dict[tuple[str, float], Any] = {}
        self._lock = threading.Lock()
        self._local = threading.local()  # the trace id of this thread's Invoke

    def close(self) -> None:
        self._http.clear()

    def call(
        self,
        signing_name: str,
        region: str,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes,
        timeout_s: float,
    ) -> ServiceAnswer:
        """``method path`` (with its query string) on the edge, signed for ``signing_name``."""
        request = AWSRequest(method=method, url=f"{self.edge_url}{path}", data=body or b"")
        for name, value in headers:
            request.headers[name] = value
        SigV4Auth(self._credentials, signing_name, region).add_auth(request)
        try:
            response = self._http.request(
                method,
                request.url,
                body=body or None,
                headers=dict(request.headers.items()),
                timeout=urllib3.Timeout(connect=5.0, read=timeout_s),
                preload_content=False,
                redirect=False,
            )
        except Urllib3ReadTimeout as exc:
            raise Timeout(str(exc)) from None
        except HTTPError as exc:
            raise Unreachable(str(exc)) from None
        try:
            data = response.read(MAX_ANSWER + 1)
        except Urllib3ReadTimeout as exc:
            response.close()
            raise Timeout(str(exc)) from None
        except HTTPError as exc:
            response.close()
            raise Unreachable(str(exc)) from None
        if len(data) > MAX_ANSWER:
            response.close()  # the rest stays unread: the connection cannot be reused
            raise Unreachable("the service's answer is over 10 MB")
        response.release_conn()
        answer_headers = {name.lower(): value for name, value in response.headers.items()}
        return ServiceAnswer(response.status, answer_headers, data)

    def invoke(
        self,
        region: str,
        function: str,
        payload: bytes,
        timeout_s: float,
        trace_id: str | None = None,
    ) -> Invoked:
        """A synchronous Invoke; ``Timeout`` past ``timeout_s`` (the function runs on)."""
        client = self._lambda(region, timeout_s)
        self._local.trace_id = trace_id
        try:
            answer = client.invoke(FunctionName=function, Payload=payload)
        except ReadTimeoutError as exc:
            raise Timeout(str(exc)) from None
        except (ConnectTimeoutError, EndpointConnectionError) as exc:
            raise Unreachable(str(exc)) from None
        finally:
            self._local.trace_id = None
        stream = answer.get("Payload")
        data = stream.read() if stream is not None else b""
        return Invoked(data, answer.get("FunctionError"))

    def _trace(self, request: AWSRequest, **_: Any) -> None:
        trace_id = getattr(self._local, "trace_id", None)
        if trace_id:
            request.headers["X-Amzn-Trace-Id"] = trace_id

    def _lambda(self, region: str, timeout_s: float) -> Any:
        key = (region, round(timeout_s, 3))
        with self._lock:  # a boto3 session is not thread-safe
            if key not in self._clients:
                client = self._clients[key] = self._session.client(
                    "lambda",
                    region_name=region,
                    endpoint_url=self.edge_url,
                    config=Config(
                        read_timeout=timeout_s,
                        connect_timeout=5,
                        retries={"total_max_attempts": 1},
                        tcp_keepalive=True,
                    ),
                )
                client.meta.events.register("before-sign.lambda.Invoke", self._trace)
            return self._clients[key]
