"""What the firehose provider keeps beside moto's record of a delivery stream: its S3 destination
as it delivers (bucket, prefixes, buffering, compression, Lambda processor), the records buffered
for it and what it delivered. Pure state and checks; no I/O.

AWS's limits and defaults, from the Firehose API reference and developer guide ("Transform
source data"): ``BufferingHints`` 1-128 MiB and 0-900 s (both or neither; 5 MiB / 300 s by
default); a Lambda processor's ``NumberOfRetries`` 3 (0-300 accepted here), ``BufferSizeInMBs``
0.2-3 (1 by default), ``BufferIntervalInSeconds`` 0-900 (60). The edge checks a record's
1,000 KiB and a batch's 500 records (the API model's).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from ...edge import ServiceError
from .keys import PrefixError, check_prefixes

MIB = 1024 * 1024
MAX_BATCH_BYTES = 4 * MIB  # one PutRecordBatch call
DEFAULT_SIZE_MB = 5
DEFAULT_INTERVAL = 300
DEFAULT_RETRIES = 3
DEFAULT_PROCESSOR_MB = 1.0
DEFAULT_PROCESSOR_INTERVAL = 60
EXTENSIONS = {"UNCOMPRESSED": "", "GZIP": ".gz"}  # the compression formats delivered here
DESTINATIONS = ("ExtendedS3", "S3")


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidArgumentException", message)


def unsupported(what: str, instead: str = "") -> ServiceError:
    """A setting AWS accepts that the local cloud cannot honour: refused rather than ignored."""
    advice = f"; {instead}" if instead else ""
    return invalid(f"{what} is not supported by the local cloud's Firehose{advice}.")


@dataclass(frozen=True)
class Processor:
    lambda_arn: str
    retries: int = DEFAULT_RETRIES
    buffer_bytes: int = int(DEFAULT_PROCESSOR_MB * MIB)
    interval_seconds: int = DEFAULT_PROCESSOR_INTERVAL


@dataclass(frozen=True)
class Destination:
    bucket: str
    prefix: str = ""
    error_prefix: str | None = None
    size_bytes: int = DEFAULT_SIZE_MB * MIB
    interval_seconds: int = DEFAULT_INTERVAL
    compression: str = "UNCOMPRESSED"
    file_extension: str | None = None
    processor: Processor | None = None

    @property
    def latency_seconds(self) -> int:
        """How long a lone record waits on AWS before it is written: the processor's buffer
        interval (Firehose buffers before it calls the function), then the destination's."""
        processing = self.processor.interval_seconds if self.processor else 0
        return processing + self.interval_seconds

    @property
    def extension(self) -> str:
        return (
            self.file_extension if self.file_extension is not None else EXTENSIONS[self.compression]
        )


def s3_destination(params: dict[str, Any]) -> dict[str, Any] | None:
    """The S3 destination of a CreateDeliveryStream request (ExtendedS3 first); None without
    a destination; ServiceError for a destination the local cloud does not deliver to."""
    for kind in DESTINATIONS:
        config = params.get(f"{kind}DestinationConfiguration")
        if config:
            return config
    for key, value in params.items():
        if key.endswith("DestinationConfiguration") and value:
            kind = key.removesuffix("DestinationConfiguration")
            raise unsupported(f"A {kind} destination", "use ExtendedS3 or S3")
    return None


def check_source(params: dict[str, Any]) -> None:
    """Records come from PutRecord and PutRecordBatch here: no stream or cluster feeds one."""
    kind = params.get("DeliveryStreamType") or "DirectPut"
    if kind != "DirectPut":
        raise unsupported(f"DeliveryStreamType {kind}", "use DirectPut")


def update_of(params: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """An UpdateDestination request's (member name, S3 update), None without one; an S3
    destination stays S3 (ServiceError for any other)."""
    for key, value in params.items():
        if key.endswith("Update") and value and key not in _S3_UPDATES:
            raise unsupported(f"{key} (only S3 destinations deliver)", "use ExtendedS3")
    for key in _S3_UPDATES:
        if params.get(key):
            return key, params[key]
    return None


_S3_UPDATES = ("ExtendedS3DestinationUpdate", "S3DestinationUpdate")


def described_destination(description: dict[str, Any]) -> dict[str, Any] | None:
    """The S3 destination in a DescribeDeliveryStream answer's ``DeliveryStreamDescription``."""
    for destination in description.get("Destinations") or []:
        for kind in DESTINATIONS:
            config = destination.get(f"{kind}DestinationDescription")
            if config:
                return config
    return None


def check_destination(config: dict[str, Any]) -> Destination:
    """An S3 or ExtendedS3 configuration as the local cloud delivers it; ServiceError
    (InvalidArgumentException) for what AWS refuses and what the local cloud cannot do."""
    bucket = str(config.get("BucketARN") or "").rpartition(":::")[2]
    if not bucket:
        raise invalid("BucketARN must be the ARN of an S3 bucket (arn:aws:s3:::<bucket>).")
    hints = config.get("BufferingHints") or {}
    size, interval = hints.get("SizeInMBs"), hints.get("IntervalInSeconds")
    if (size is None) != (interval is None):
        raise invalid(
            "BufferingHints: SizeInMBs and IntervalInSeconds are optional, but if you specify "
            "a value for one of them, you must also provide a value for the other."
        )
    size = DEFAULT_SIZE_MB if size is None else size
    interval = DEFAULT_INTERVAL if interval is None else interval
    if not 1 <= size <= 128 or not 0 <= interval <= 900:  # the edge checks this too
        raise invalid("BufferingHints: SizeInMBs must be 1-128 and IntervalInSeconds 0-900.")
    compression = config.get("CompressionFormat") or "UNCOMPRESSED"
    if compression not in EXTENSIONS:
        raise unsupported(f"CompressionFormat {compression}", "use UNCOMPRESSED or GZIP")
    for feature in ("DynamicPartitioningConfiguration", "DataFormatConversionConfiguration"):
        if (config.get(feature) or {}).get("Enabled"):
            raise unsupported(f"{feature} with Enabled true")
    if config.get("S3BackupMode") == "Enabled":
        raise unsupported("S3BackupMode Enabled (a backup copy of the source records)")
    if config.get("CustomTimeZone") not in (None, "", "UTC"):
        raise unsupported(f"CustomTimeZone {config['CustomTimeZone']}", "prefixes are in UTC")
    prefix, error_prefix = config.get("Prefix") or "", config.get("ErrorOutputPrefix") or None
    try:
        check_prefixes(prefix, error_prefix)
    except PrefixError as exc:
        raise invalid(str(exc)) from None
    return Destination(
        bucket=bucket,
        prefix=prefix,
        error_prefix=error_prefix,
        size_bytes=int(size) * MIB,
        interval_seconds=int(interval),
        compression=compression,
        file_extension=config.get("FileExtension") or None,
        processor=_processor(config.get("ProcessingConfiguration") or {}),
    )


def _processor(config: dict[str, Any]) -> Processor | None:
    if not config.get("Enabled"):
        return None
    processors = config.get("Processors") or []
    if len(processors) != 1 or processors[0].get("Type") != "Lambda":
        kinds = ", ".join(str(p.get("Type")) for p in processors) or "none"
        raise unsupported(f"ProcessingConfiguration with processors {kinds}", "use one Lambda")
    parameters = {
        p.get("ParameterName"): p.get("ParameterValue")
        for p in processors[0].get("Parameters") or []
    }
    arn = parameters.get("LambdaArn")
    if not arn:
        raise invalid("A Lambda processor needs the parameter LambdaArn.")
    retries = _number(parameters, "NumberOfRetries", DEFAULT_RETRIES, 0, 300, int)
    size = _number(parameters, "BufferSizeInMBs", DEFAULT_PROCESSOR_MB, 0.2, 3, float)
    interval = _number(
        parameters, "BufferIntervalInSeconds", DEFAULT_PROCESSOR_INTERVAL, 0, 900, int
    )
    return Processor(str(arn), int(retries), int(size * MIB), int(interval))


def _number(
    parameters: dict[str, Any], name: str, default: float, low: float, high: float, kind: type
) -> float:
    text = parameters.get(name)
    if text is None:
        return default
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise invalid(f"The processor parameter {name} must be a number, not {text!r}.") from None
    if not low <= value <= high:
        raise invalid(f"The processor parameter {name} must be between {low} and {high}.")
    return value


def new_record_id() -> str:
    return secrets.token_hex(28)


@dataclass(slots=True)
class Record:
    record_id: str
    data: bytes
    arrival_ms: int  # epoch milliseconds: approximateArrivalTimestamp / arrivalTimestamp


@dataclass
class Stream:
    """A managed stream: its destination, its buffer (at most ``size_bytes``) and its counts."""

    name: str
    region: str
    arn: str
    version: str
    destination: Destination
    active_at: float  # monotonic time at which CREATING becomes ACTIVE
    records: list[Record] = field(default_factory=list)
    size: int = 0  # bytes of data buffered
    started: float | None = None  # monotonic time of the buffer's first record
    delivered_objects: int = 0
    delivered_records: int = 0
    dropped_records: int = 0
    failed_records: int = 0
    last_error: str | None = None

    def status(self, now: float) -> str:
        return "CREATING" if now < self.active_at else "ACTIVE"

    def overflows(self, size: int) -> bool:
        """Whether ``size`` more bytes would take a non-empty buffer past its size hint."""
        return bool(self.records) and self.size + size > self.destination.size_bytes

    def append(self, record: Record, now: float) -> None:
        if not self.records:
            self.started = now
        self.records.append(record)
        self.size += len(record.data)

    def full(self) -> bool:
        return self.size >= self.destination.size_bytes

    def take(self) -> list[Record]:
        records, self.records, self.size, self.started = self.records, [], 0, None
        return records

    def to_api(self, now: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "region": self.region,
            "arn": self.arn,
            "status": self.status(now),
            "version": self.version,
            "bucket": self.destination.bucket,
            "prefix": self.destination.prefix,
            "processor": self.destination.processor.lambda_arn
            if self.destination.processor
            else None,
            "buffered_records": len(self.records),
            "buffered_bytes": self.size,
            "delivered_objects": self.delivered_objects,
            "delivered_records": self.delivered_records,
            "dropped_records": self.dropped_records,
            "failed_records": self.failed_records,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class Batch:
    """A sealed buffer on its way to S3, with the settings and version it was buffered under."""

    stream: Stream
    version: str
    destination: Destination
    records: list[Record]
    held: int  # bytes counted against the engine's memory budget


@dataclass
class Report:
    """What one delivery did, added to its stream's counts."""

    objects: int = 0
    records: int = 0
    dropped: int = 0
    failed: int = 0
    last_error: str | None = None

    def apply(self, stream: Stream) -> None:
        stream.delivered_objects += self.objects
        stream.delivered_records += self.records
        stream.dropped_records += self.dropped
        stream.failed_records += self.failed
        if self.last_error:
            stream.last_error = self.last_error
