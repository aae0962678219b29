"""An event source mapping as Lambda describes it: its settings, its state and what its poller
last did. Pure state; no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...constants import ACCOUNT_ID

# States and the transitions Lambda reports (the poller moves a mapping out of the -ing ones).
CREATING, ENABLING, ENABLED = "Creating", "Enabling", "Enabled"
DISABLING, DISABLED, UPDATING, DELETING = "Disabling", "Disabled", "Updating", "Deleting"
USER_ACTION = "User action"  # StateTransitionReason of a DynamoDB stream mapping

NO_RECORDS = "No records processed"
OK = "OK"
FUNCTION_CALL_FAILED = "PROBLEM: Function call failed"

DEFAULT_BATCH_SIZE = 100  # DynamoDB streams: default 100, at most 10,000 (the input shape's max)
MAX_RECORD_AGE = 604800
STREAM_RETENTION = 86400  # seconds a DynamoDB stream keeps a record: where "-1" ends
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"

_STREAM_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"table/(?P<table>[A-Za-z0-9_.-]{1,255})/stream/(?P<label>[^/]+)$"
)


def mapping_arn(region: str, uuid: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:event-source-mapping:{uuid}"


@dataclass(frozen=True)
class StreamArn:
    region: str
    account: str
    table: str
    label: str

    @classmethod
    def parse(cls, arn: str) -> StreamArn | None:
        match = _STREAM_ARN.match(arn)
        if match is None:
            return None
        return cls(match["region"], match["account"], match["table"], match["label"])


@dataclass(frozen=True)
class Settings:
    """What a mapping delivers, and how: replaced whole by UpdateEventSourceMapping, so the
    poller always works from one consistent version."""

    function_arn: str
    batch_size: int = DEFAULT_BATCH_SIZE
    window: int = 0  # MaximumBatchingWindowInSeconds
    max_retries: int = -1  # -1: until the record expires
    max_age: int = -1  # -1: until the record expires
    bisect: bool = False
    parallelization: int = 1
    on_failure: str | None = None  # an SQS queue or SNS topic ARN
    filter_criteria: dict[str, Any] | None = None  # as the caller gave it
    patterns: tuple[dict[str, Any], ...] = ()  # its patterns, parsed
    response_types: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)  # echoed only (MetricsConfig, ...)

    @property
    def function_name(self) -> str:
        return self.function_arn.split(":")[6]

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.response_types

    def record_age_limit(self) -> int:
        """Seconds after which a record is discarded: the set maximum, else the retention."""
        return self.max_age if self.max_age >= 0 else STREAM_RETENTION


@dataclass
class Mapping:
    uuid: str
    region: str
    source_arn: str
    starting_position: str
    settings: Settings
    enabled: bool
    last_modified: float
    serial: int  # creation order: the order ListEventSourceMappings answers in
    state: str = CREATING
    last_result: str = NO_RECORDS
    tags: dict[str, str] = field(default_factory=dict)
    generation: int = 0  # bumped by every update, so the poller notices
    delivered_batches: int = 0
    delivered_records: int = 0
    failed_batches: int = 0

    @property
    def arn(self) -> str:
        return mapping_arn(self.region, self.uuid)

    def target_state(self) -> str:
        return ENABLED if self.enabled else DISABLED

    def to_api(self, state: str | None = None) -> dict[str, Any]:
        s = self.settings
        on_failure = {"Destination": s.on_failure} if s.on_failure else {}
        answer: dict[str, Any] = {
            "BatchSize": s.batch_size,
            "BisectBatchOnFunctionError": s.bisect,
            "DestinationConfig": {"OnFailure": on_failure},
            "EventSourceArn": self.source_arn,
            "EventSourceMappingArn": self.arn,
            "FunctionArn": s.function_arn,
            "FunctionResponseTypes": list(s.response_types),
            "LastModified": self.last_modified,
            "LastProcessingResult": self.last_result,
            "MaximumBatchingWindowInSeconds": s.window,
            "MaximumRecordAgeInSeconds": s.max_age,
            "MaximumRetryAttempts": s.max_retries,
            "ParallelizationFactor": s.parallelization,
            "StartingPosition": self.starting_position,
            "State": state or self.state,
            "StateTransitionReason": USER_ACTION,
            "TumblingWindowInSeconds": 0,
            "UUID": self.uuid,
        }
        if s.filter_criteria is not None:
            answer["FilterCriteria"] = s.filter_criteria
        answer.update(s.extras)
        return answer

    def control(self) -> dict[str, Any]:
        """The mapping as ``GET /_localcloud/eventsources`` shows it."""
        return {
            "uuid": self.uuid,
            "function": self.settings.function_arn,
            "source": self.source_arn,
            "state": self.state,
            "delivered_batches": self.delivered_batches,
            "delivered_records": self.delivered_records,
            "failed_batches": self.failed_batches,
            "last_result": self.last_result,
        }
