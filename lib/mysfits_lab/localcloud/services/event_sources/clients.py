"""The poller's two AWS clients: a DynamoDB Streams reader and a Lambda invoker, each through
the cloud's own API like any other caller.

moto keeps every shard iterator it ever handed out (each GetRecords answer makes a new one), so
a poller asking four times a second would grow the cloud's memory without end: the reader
drops each iterator from moto's table once it has used it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ...constants import ACCOUNT_ID, DUMMY_CREDENTIALS
from .delivery import InvokeResult
from .models import StreamArn

log = logging.getLogger("mysfits_lab.localcloud.eventsources")

READ_LIMIT = 1000  # GetRecords' largest Limit
MAX_RESPONSE = 6 * 1024 * 1024 + 100  # bytes of a synchronous Invoke response
INVOKE_TIMEOUT = 910  # seconds: a function may run 900
# Invoke errors where the batch never reached the function: retried without using the quota.
_BEFORE_INVOCATION = {
    "TooManyRequestsException",
    "ResourceNotFoundException",
    "ResourceConflictException",
    "ResourceNotReadyException",
    "ServiceException",
    "InternalFailure",
}


class StreamGone(Exception):  # noqa: N818 - a condition, reported as such
    """The stream no longer exists (its table was deleted or its stream replaced)."""


class IteratorLost(Exception):  # noqa: N818
    """A shard iterator can no longer be read: start a new one from the last position."""


class StreamReader:
    """DescribeStream, GetShardIterator and GetRecords for one region's streams."""

    def __init__(self, client: Callable[[], Any], region: str):
        self._client = client
        self._region = region

    def shards(self, source_arn: str) -> list[str]:
        parsed = StreamArn.parse(source_arn)
        shards: list[str] = []
        start: str | None = None
        try:
            while True:
                extra = {"ExclusiveStartShardId": start} if start else {}
                answer = self._client().describe_stream(StreamArn=source_arn, **extra)
                description = answer["StreamDescription"]
                if parsed is None or description.get("StreamLabel") != parsed.label:
                    raise StreamGone(source_arn)  # the table has another stream now
                shards += [shard["ShardId"] for shard in description.get("Shards", [])]
                start = description.get("LastEvaluatedShardId")
                if not start:
                    return shards
        except ClientError as exc:
            raise StreamGone(f"{source_arn}: {exc}") from exc

    def iterator(self, source_arn: str, shard_id: str, kind: str, after: str | None = None) -> str:
        extra = {"SequenceNumber": after} if after else {}
        try:
            answer = self._client().get_shard_iterator(
                StreamArn=source_arn, ShardId=shard_id, ShardIteratorType=kind, **extra
            )
        except ClientError as exc:
            raise StreamGone(f"{source_arn} {shard_id}: {exc}") from exc
        return answer["ShardIterator"]

    def read(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` records and the next iterator (None once the shard is closed)."""
        try:
            answer = self._client().get_records(
                ShardIterator=iterator, Limit=min(limit, READ_LIMIT)
            )
        except ClientError as exc:
            raise IteratorLost(str(exc)) from exc
        finally:
            self._forget(iterator)
        return answer.get("Records", []), answer.get("NextShardIterator")

    def _forget(self, iterator: str) -> None:
        with contextlib.suppress(Exception):  # moto absent or shaped otherwise: nothing to free
            from moto.dynamodbstreams.models import dynamodbstreams_backends

            dynamodbstreams_backends[ACCOUNT_ID][self._region].shard_iterators.pop(iterator, None)


class LambdaInvoker:
    """Synchronous Invoke (RequestResponse) of a function by ARN. Used by the poller thread
    only: its boto3 session is its own."""

    def __init__(self, edge_url: str):
        self._edge_url = edge_url
        self._session = boto3.session.Session(**DUMMY_CREDENTIALS)
        self._clients: dict[str, Any] = {}

    def _client(self, region: str) -> Any:
        if region not in self._clients:
            # No retries of its own (a retry would run the function twice) and a read timeout
            # past the longest function timeout.
            config = Config(
                read_timeout=INVOKE_TIMEOUT, retries={"total_max_attempts": 1}, connect_timeout=5
            )
            self._clients[region] = self._session.client(
                "lambda", region_name=region, endpoint_url=self._edge_url, config=config
            )
        return self._clients[region]

    def __call__(self, function_arn: str, payload: bytes) -> InvokeResult:
        region = function_arn.split(":")[3]
        try:
            answer = self._client(region).invoke(
                FunctionName=function_arn, InvocationType="RequestResponse", Payload=payload
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500)
            return InvokeResult(
                status=status,
                error=f"Invoke failed with {code}: {error.get('Message', '')}",
                reached_function=status < 500 and code not in _BEFORE_INVOCATION,
            )
        except BotoCoreError as exc:
            return InvokeResult(status=0, error=f"Invoke failed: {exc}", reached_function=False)
        body = answer["Payload"].read(MAX_RESPONSE)
        return InvokeResult(
            status=int(answer.get("StatusCode", 200)),
            function_error=answer.get("FunctionError"),
            payload=body,
            executed_version=answer.get("ExecutedVersion", "$LATEST"),
        )
