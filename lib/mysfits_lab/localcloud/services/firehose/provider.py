"""Firehose delivery streams that deliver as AWS does: moto records a stream (and answers
ListDeliveryStreams, tags, ...) but writes every put to S3 at once, raw, and never calls the
processor; here DirectPut streams with an S3 or ExtendedS3 destination buffer their records and
deliver them by size and time, through their Lambda processor (``engine.py``).

- ``CreateDeliveryStream``: AWS's checks moto leaves out (both buffering hints or neither,
  prefix rules) and a clear refusal of what the local cloud cannot deliver (ZIP/Snappy,
  dynamic partitioning, format conversion, backups, processors other than one Lambda); the
  stream is CREATING for a scaled moment (10 s of AWS time), when puts are refused with
  ResourceNotFoundException and deleting it with ResourceInUseException, as on AWS.
- ``PutRecord``/``PutRecordBatch``: answered here (RecordId, ``Encrypted`` false); a batch of
  more than 4 MiB is refused whole; the edge checks 500 records and 1,000 KiB per record.
- ``UpdateDestination``: merged into the settings as AWS merges it (moto is given the whole
  result: it replaces an S3 destination updated as ExtendedS3), checked like a new stream; new
  settings (and stream version) are for new data, what was buffered is delivered at once under
  the old ones. ``DeleteDeliveryStream`` discards the buffer, as AWS deletes a stream's data.
- Other sources (Kinesis, MSK) and destinations (HTTP endpoints, Redshift, ...) are refused at
  CreateDeliveryStream: moto would write their records to S3 at once or POST them anywhere. A
  stream moto holds that was recorded past the edge is adopted at its first use, or left to moto.

Control route: ``GET /_localcloud/firehose[?region=]`` → ``{"streams": [...]}``, each
``{name, region, arn, status, version, bucket, prefix, processor, buffered_records,
buffered_bytes, delivered_objects, delivered_records, dropped_records, failed_records,
last_error}``; ``GET /_localcloud/firehose/<name>[?region=]`` → one of them (404 if unknown).
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from typing import Any

from werkzeug.wrappers import Request

from ...constants import ACCOUNT_ID
from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from ...edge.catalog import service_model
from .engine import DeliveryEngine
from .models import (
    MAX_BATCH_BYTES,
    Destination,
    Stream,
    check_destination,
    check_source,
    described_destination,
    invalid,
    s3_destination,
    update_of,
)
from .sinks import LambdaSink, S3Sink

log = logging.getLogger("mysfits_lab.localcloud.firehose")

CREATE_SECONDS = 10  # AWS time a new stream stays CREATING (seconds to minutes on AWS)
CREATE_MINIMUM = 0.5
_DESCRIPTION_DEFAULTS = {
    "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 300},
    "CompressionFormat": "UNCOMPRESSED",
    "EncryptionConfiguration": {"NoEncryptionConfig": "NoEncryption"},
}


class FirehoseProvider(Provider):
    name = "firehose"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.engine = DeliveryEngine(
            ctx.clock,
            S3Sink(lambda region: ctx.client("s3", region)),
            LambdaSink(lambda region: ctx.client("lambda", region)),
        )
        self._unmanaged: set[tuple[str, str]] = set()  # moto's streams, delivered by moto
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("firehose", "CreateDeliveryStream", self._create),
            Route("firehose", "DescribeDeliveryStream", self._describe),
            Route("firehose", "DeleteDeliveryStream", self._delete),
            Route("firehose", "UpdateDestination", self._update),
            Route("firehose", "PutRecord", self._put_record),
            Route("firehose", "PutRecordBatch", self._put_record_batch),
        ]

    def control(self) -> list[ControlRule]:
        return [ControlRule("", self._list), ControlRule("/<name>", self._one)]

    # -- the stream's life --------------------------------------------------------------------
    def _create(self, call: Call) -> dict[str, Any]:
        params = call.params
        kinds = [k for k, v in params.items() if k.endswith("DestinationConfiguration") and v]
        config = s3_destination(params)  # refuses the destinations not delivered here
        if config is None or len(kinds) != 1:  # none or several: moto refuses as AWS does
            return call.moto()
        check_source(params)
        check_destination(config)
        answer = call.moto()
        name = params["DeliveryStreamName"]
        with self._lock:
            self._unmanaged.discard((call.region, name))
        self.engine.remove(call.region, name)  # moto took the name: anything known is stale
        self._adopt(call.region, name, creating=True)
        return answer

    def _describe(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        description = answer.get("DeliveryStreamDescription", {})
        stream = self.engine.get(call.region, call.params["DeliveryStreamName"])
        if stream is not None:
            description["DeliveryStreamStatus"] = stream.status(self.ctx.clock.monotonic())
        for destination in description.get("Destinations") or []:  # what AWS fills in
            for kind in ("ExtendedS3", "S3"):
                config = destination.get(f"{kind}DestinationDescription")
                if config:
                    for member, default in _DESCRIPTION_DEFAULTS.items():
                        config.setdefault(
                            member, dict(default) if isinstance(default, dict) else default
                        )
        return answer

    def _delete(self, call: Call) -> dict[str, Any]:
        name = call.params["DeliveryStreamName"]
        stream = self.engine.get(call.region, name)
        if stream is not None and stream.status(self.ctx.clock.monotonic()) == "CREATING":
            raise ServiceError(
                "ResourceInUseException",
                f"Firehose {name} under account {ACCOUNT_ID} is in CREATING state; a stream can "
                "be deleted once it is ACTIVE.",
            )
        answer = call.moto()
        self.engine.remove(call.region, name)
        with self._lock:
            self._unmanaged.discard((call.region, name))
        return answer

    def _update(self, call: Call) -> dict[str, Any]:
        params = call.params
        name = params["DeliveryStreamName"]
        stream = self._stream(call.region, name)
        if stream is None:
            return call.moto()
        found_update = update_of(params)
        if found_update is None:
            return call.moto()
        kind, update = found_update
        if stream.status(self.ctx.clock.monotonic()) == "CREATING":
            raise ServiceError(
                "ResourceInUseException",
                f"Firehose {name} under account {ACCOUNT_ID} is in CREATING state.",
            )
        # AWS merges an update into the settings; moto may not (an ExtendedS3 update of an S3
        # destination replaces it), so it is given the whole of what was checked.
        merged = {**(described_destination(self._description(call.region, name)) or {}), **update}
        check_destination(merged)
        members = service_model("firehose").shape_for(kind).members
        whole = {key: value for key, value in merged.items() if key in members}
        answer = self.ctx.moto(
            "firehose", "UpdateDestination", call.region, **{**params, kind: whole}
        )
        found = self._managed_settings(call.region, name)
        if found is not None:
            self.engine.update(call.region, name, found[0], found[1])
        return answer

    # -- records ------------------------------------------------------------------------------
    def _put_record(self, call: Call) -> dict[str, Any]:
        name = call.params["DeliveryStreamName"]
        if self._active(call.region, name) is None:
            return call.moto()
        ids = self._put(call.region, name, [_data(call.params["Record"])])
        if ids[0] is None:
            raise ServiceError("ServiceUnavailableException", "Slow down.", 503)
        return {"RecordId": ids[0], "Encrypted": False}

    def _put_record_batch(self, call: Call) -> dict[str, Any]:
        name = call.params["DeliveryStreamName"]
        if self._active(call.region, name) is None:
            return call.moto()
        data = [_data(record) for record in call.params["Records"]]
        total = sum(len(item) for item in data)
        if total > MAX_BATCH_BYTES:
            raise invalid(
                f"Records size exceeds the 4 MiB limit of one PutRecordBatch call "
                f"({total} bytes of data; at most {MAX_BATCH_BYTES})."
            )
        responses = [
            {"RecordId": record_id}
            if record_id is not None
            else {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}
            for record_id in self._put(call.region, name, data)
        ]
        failed = sum(1 for response in responses if "ErrorCode" in response)
        return {"FailedPutCount": failed, "Encrypted": False, "RequestResponses": responses}

    def _put(self, region: str, name: str, data: list[bytes]) -> list[str | None]:
        try:
            return self.engine.put(region, name, data)
        except LookupError:  # deleted meanwhile
            raise _not_found(name) from None

    def _active(self, region: str, name: str) -> Stream | None:
        """The managed stream that takes records (None: moto's to answer); ServiceError when it
        does not exist or is not ACTIVE yet."""
        stream = self._stream(region, name)
        if stream is not None and stream.status(self.ctx.clock.monotonic()) == "CREATING":
            raise _not_found(name, creating=True)
        return stream

    # -- streams ------------------------------------------------------------------------------
    def _stream(self, region: str, name: str) -> Stream | None:
        """A managed stream, adopting one moto holds (e.g. created past the edge); None for
        moto's own; ServiceError (ResourceNotFoundException) when there is no such stream."""
        stream = self.engine.get(region, name)
        if stream is not None:
            return stream
        with self._lock:
            if (region, name) in self._unmanaged:
                return None
        return self._adopt(region, name, creating=False)

    def _adopt(self, region: str, name: str, creating: bool) -> Stream | None:
        found = self._managed_settings(region, name)
        if found is None:
            with self._lock:
                self._unmanaged.add((region, name))
            return None
        destination, version, arn = found
        clock = self.ctx.clock
        delay = clock.scaled(CREATE_SECONDS, CREATE_MINIMUM) if creating else 0.0
        stream = Stream(name, region, arn, version, destination, clock.monotonic() + delay)
        return self.engine.add(stream)

    def _managed_settings(self, region: str, name: str) -> tuple[Destination, str, str] | None:
        """(destination, version, ARN) of a stream this provider delivers, from moto's record."""
        description = self._description(region, name)
        config = described_destination(description)
        if config is None or description.get("DeliveryStreamType", "DirectPut") != "DirectPut":
            return None
        try:
            destination = check_destination(config)
        except ServiceError as exc:  # recorded past our checks: moto delivers it
            log.info("stream %s is delivered by moto: %s", name, exc.message)
            return None
        return destination, str(description.get("VersionId", "1")), description["DeliveryStreamARN"]

    def _description(self, region: str, name: str) -> dict[str, Any]:
        try:
            answer = self.ctx.moto(
                "firehose", "DescribeDeliveryStream", region, DeliveryStreamName=name
            )
        except ServiceError as exc:
            if exc.code == "ResourceNotFoundException":
                raise _not_found(name) from None
            raise
        return answer["DeliveryStreamDescription"]

    # -- control and lifecycle ----------------------------------------------------------------
    def _list(self, request: Request) -> dict[str, Any]:
        return {"streams": self.engine.stats(request.args.get("region"))}

    def _one(self, request: Request, name: str) -> dict[str, Any]:
        region = request.args.get("region", self.ctx.region)
        for stream in self.engine.stats(region):
            if stream["name"] == name:
                return stream
        raise LookupError(f"no delivery stream {name} in {region}")

    def start(self) -> None:
        self.engine.start()

    def stop(self) -> None:
        self.engine.stop()

    def status(self) -> dict[str, Any]:
        return {"firehose": {"streams": self.engine.stats()}}


def _not_found(name: str, creating: bool = False) -> ServiceError:
    message = f"Firehose {name} under account {ACCOUNT_ID} not found."
    if creating:
        message += " It is CREATING: it takes records once DescribeDeliveryStream says ACTIVE."
    return ServiceError("ResourceNotFoundException", message)


def _data(record: dict[str, Any]) -> bytes:
    """A record's bytes (the edge checked that it is base64 of at most 1,000 KiB)."""
    data = record.get("Data", b"")
    if isinstance(data, bytes):
        return data
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("Record.Data must be base64.") from None
