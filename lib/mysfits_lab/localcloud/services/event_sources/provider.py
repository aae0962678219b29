"""Lambda event source mappings for DynamoDB streams, owned wholly by this provider.

moto must never hold a mapping: once it has one for a table, every PutItem on that table fails
with a 500 when moto runs without Docker. So Create/Get/Update/Delete/ListEventSourceMappings
are answered here, and the poller (``poller.py``) reads each stream through the DynamoDB Streams
API and invokes the function through Lambda's Invoke, like any other client of the cloud.

Control route: ``GET /_localcloud/eventsources`` → ``{"mappings": [{uuid, function, source,
state, delivered_batches, delivered_records, failed_batches, last_result}]}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from werkzeug.wrappers import Request

from ...constants import ACCOUNT_ID
from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from . import cfn_hooks
from . import validation as checks
from .clients import LambdaInvoker, StreamReader
from .failures import FailureReporter
from .models import DELETING, DISABLING, ENABLING, UPDATING, Mapping, StreamArn
from .poller import Poller
from .store import MappingStore


class EventSourcesProvider(Provider):
    name = "eventsources"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.store = MappingStore()
        self._readers: dict[str, StreamReader] = {}
        reporter = FailureReporter(ctx)
        self.poller = Poller(
            self.store,
            self._reader,
            lambda: LambdaInvoker(ctx.edge_url),
            reporter.discarded,
            ctx.clock,
        )

    def _reader(self, region: str) -> StreamReader:
        if region not in self._readers:
            self._readers[region] = StreamReader(
                lambda: self.ctx.client("dynamodbstreams", region), region
            )
        return self._readers[region]

    def routes(self) -> list[Route]:
        handlers: dict[str, Callable[[Call], dict[str, Any]]] = {
            "CreateEventSourceMapping": self._create,
            "GetEventSourceMapping": self._get,
            "UpdateEventSourceMapping": self._update,
            "DeleteEventSourceMapping": self._delete,
            "ListEventSourceMappings": self._list,
        }
        return [Route("lambda", operation, handler) for operation, handler in handlers.items()]

    def control(self) -> list[ControlRule]:
        return [ControlRule("", self._control)]

    def start(self) -> None:
        cfn_hooks.install(self)
        self.poller.start()

    def stop(self) -> None:
        cfn_hooks.uninstall(self)
        self.poller.stop()

    def status(self) -> dict[str, Any]:
        return {"eventsources": {"mappings": len(self.store)}}

    # -- the API (also what a stack's AWS::Lambda::EventSourceMapping does: cfn_hooks.py) ---
    def _create(self, call: Call) -> dict[str, Any]:
        return self.create_mapping(call.params, call.region)

    def _update(self, call: Call) -> dict[str, Any]:
        return self.update_mapping(call.params, call.region)

    def _delete(self, call: Call) -> dict[str, Any]:
        return self.delete_mapping(call.params.get("UUID", ""), call.region)

    def create_mapping(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        checks.check_destination(params)
        source = checks.stream_source(params)
        position = checks.starting_position(params, source)
        function = checks.parse_function(params.get("FunctionName", ""), region)
        settings = checks.settings(params, function.arn)
        self._check_function(function, region)
        self._check_stream(source, region)
        with self.store.lock:
            existing = self.store.duplicate(region, source, function.arn)
            if existing is not None:
                raise checks.conflict(source, params["FunctionName"], existing.uuid)
            mapping = Mapping(
                uuid=str(uuid.uuid4()),
                region=region,
                source_arn=source,
                starting_position=position,
                settings=settings,
                enabled=params.get("Enabled", True) is not False,
                last_modified=self._now(),
                serial=self.store.next_serial(),
                tags=dict(params.get("Tags") or {}),
            )
            self.store.add(mapping)
            answer = mapping.to_api()
        self.poller.wake()
        return answer

    def _get(self, call: Call) -> dict[str, Any]:
        with self.store.lock:
            return self.store.get(call.params.get("UUID", ""), call.region).to_api()

    def update_mapping(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        key = params.get("UUID", "")
        current = self.store.get(key, region)
        function_arn = current.settings.function_arn
        if params.get("FunctionName"):
            function = checks.parse_function(params["FunctionName"], region)
            self._check_function(function, region)
            function_arn = function.arn
        checks.check_destination(params)
        settings = checks.settings(params, function_arn, base=current.settings)
        with self.store.lock:
            mapping = self.store.get(key, region)  # still there after the look-up?
            if function_arn != mapping.settings.function_arn:
                existing = self.store.duplicate(
                    region, mapping.source_arn, function_arn, other_than=key
                )
                if existing is not None:
                    raise checks.conflict(mapping.source_arn, params["FunctionName"], existing.uuid)
            enabled = params.get("Enabled")
            if enabled is not None and enabled != mapping.enabled:
                mapping.enabled = enabled
                mapping.state = ENABLING if enabled else DISABLING
            else:
                mapping.state = UPDATING
            mapping.settings = settings
            mapping.last_modified = self._now()
            mapping.generation += 1
            answer = mapping.to_api()
        self.poller.wake()
        return answer

    def delete_mapping(self, key: str, region: str) -> dict[str, Any]:
        # Gone at once from the API; the poller drops it before its next batch.
        with self.store.lock:
            mapping = self.store.remove(key, region)
            answer = mapping.to_api(state=DELETING)
        self.poller.wake()
        return answer

    def _list(self, call: Call) -> dict[str, Any]:
        params = call.params
        function = (
            checks.parse_function(params["FunctionName"], call.region)
            if params.get("FunctionName")
            else None
        )
        page, marker = self.store.page(
            call.region,
            params.get("EventSourceArn") or None,
            function,
            params.get("Marker") or None,
            params.get("MaxItems"),
        )
        answer: dict[str, Any] = {"EventSourceMappings": page}
        if marker:
            answer["NextMarker"] = marker
        return answer

    # -- look-ups through the AWS API ------------------------------------------------------
    def _check_function(self, function: checks.FunctionRef, region: str) -> None:
        if function.region != region:
            raise checks.function_missing()
        extra = {"Qualifier": function.qualifier} if function.qualifier else {}
        try:
            self.ctx.client("lambda", region).get_function(FunctionName=function.name, **extra)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise checks.function_missing() from None
            raise _service_error(exc) from None

    def _check_stream(self, source: str, region: str) -> None:
        """The stream must be the table's current one. DescribeTable, not DescribeStream: moto
        answers DescribeStream of a table without a stream with a 500."""
        arn = StreamArn.parse(source)
        if arn is None or arn.region != region or arn.account != ACCOUNT_ID:
            raise checks.stream_missing(source)
        try:
            table = self.ctx.client("dynamodb", region).describe_table(TableName=arn.table)["Table"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise checks.stream_missing(source) from None
            raise _service_error(exc) from None
        enabled = (table.get("StreamSpecification") or {}).get("StreamEnabled")
        if not enabled or table.get("LatestStreamArn") != source:
            raise checks.stream_missing(source)

    def _now(self) -> float:
        return round(self.ctx.clock.now(), 3)

    def _control(self, _request: Request) -> dict[str, Any]:
        return {"mappings": self.store.control()}


def _service_error(exc: ClientError) -> ServiceError:
    error = exc.response.get("Error", {})
    return ServiceError(
        "ServiceException",
        f"the local cloud could not check the event source mapping: {error.get('Code')}: "
        f"{error.get('Message')}",
        500,
        {"Type": "Service"},
    )
