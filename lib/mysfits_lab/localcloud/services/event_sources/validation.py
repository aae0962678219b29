"""What CreateEventSourceMapping and UpdateEventSourceMapping refuse before anything is looked
up, in Lambda's words (checked against AWS's recorded answers), and the errors the provider
raises after a look-up. Pure functions; no I/O.

The edge has already checked the input shape: types, enums and ranges (BatchSize 1–10000,
MaximumBatchingWindowInSeconds 0–300, MaximumRetryAttempts -1–10000, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ...constants import ACCOUNT_ID
from ...edge import ServiceError
from .filters import BadPattern, parse_criteria
from .models import MAX_RECORD_AGE, Settings

# The FunctionName pattern of Lambda's input shape (botocore's model), which Lambda checks.
FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
_FUNCTION = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"|(?P<partial>\d{12}):function:)?(?P<name>[A-Za-z0-9_-]{1,64})"
    r"(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$"
)
# Event sources Lambda has, by the service of their ARN; this cloud polls DynamoDB streams.
_OTHER_SOURCES = {
    "kinesis": "Kinesis streams",
    "sqs": "SQS queues",
    "kafka": "Amazon MSK clusters",
    "mq": "Amazon MQ brokers",
    "rds": "DocumentDB change streams",
}
# Members of the input shape that belong to other kinds of event source.
_NOT_FOR_STREAMS = (
    "Topics",
    "Queues",
    "SourceAccessConfigurations",
    "SelfManagedKafkaEventSourceConfig",
    "AmazonManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig",
    "ScalingConfig",
)
# Members accepted and echoed back without changing how records are delivered here.
ECHOED = ("MetricsConfig", "KMSKeyArn", "LoggingConfig", "ProvisionedPollerConfig")


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValueException", message, 400, {"Type": "User"})


def not_found() -> ServiceError:
    return ServiceError(
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
        404,
        {"Type": "User"},
    )


def conflict(source_arn: str, function: str, uuid: str) -> ServiceError:
    return ServiceError(
        "ResourceConflictException",
        f'The event source arn (" {source_arn} ") and function (" {function} ") provided '
        f"mapping already exists. Please update or delete the existing mapping with UUID {uuid}",
        409,
        {"Type": "User"},
    )


def function_missing() -> ServiceError:
    return invalid("Function does not exist")


def stream_missing(source_arn: str) -> ServiceError:
    return invalid(f"Stream not found: {source_arn}")


@dataclass(frozen=True)
class FunctionRef:
    region: str
    name: str
    qualifier: str | None

    @property
    def arn(self) -> str:
        arn = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}"
        return f"{arn}:{self.qualifier}" if self.qualifier else arn


def parse_function(reference: str, region: str) -> FunctionRef:
    """A function's name, ARN or partial ARN, each with an optional ``:qualifier``."""
    match = _FUNCTION.match(reference)
    if match is None:
        raise ServiceError(
            "ValidationException",
            f"1 validation error detected: Value '{reference[:256]}' at 'functionName' failed "
            "to satisfy constraint: Member must satisfy regular expression pattern: "
            f"{FUNCTION_NAME_PATTERN}",
        )
    account = match["account"] or match["partial"]
    if account and account != ACCOUNT_ID:
        raise function_missing()  # no other account exists on the local cloud
    return FunctionRef(match["region"] or region, match["name"], match["qualifier"])


def stream_source(params: dict[str, Any]) -> str:
    """The DynamoDB stream ARN a new mapping reads, or why it cannot be one."""
    if params.get("SelfManagedEventSource"):
        raise _unsupported("self-managed Apache Kafka clusters")
    source = params.get("EventSourceArn")
    if not source:
        raise invalid("Unrecognized event source.")
    parts = source.split(":")
    service = parts[2] if len(parts) > 5 and parts[0] == "arn" else ""
    if service != "dynamodb":
        raise _unsupported(_OTHER_SOURCES.get(service, f"{service or 'these'} event sources"))
    return source


def _unsupported(what: str) -> ServiceError:
    return invalid(
        f"Unsupported event source: this local cloud polls DynamoDB streams only; event source "
        f"mappings for {what} are not supported here."
    )


def starting_position(params: dict[str, Any], source_arn: str) -> str:
    position = params.get("StartingPosition")
    if not position:
        raise invalid(
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
            "constraint: Member must not be null."
        )
    if position == "AT_TIMESTAMP":  # a Kinesis position; DynamoDB streams have no such one
        raise invalid(f"Unsupported starting position for arn type: {source_arn}")
    if params.get("StartingPositionTimestamp") is not None:
        raise invalid("Timestamp only valid with StartingPosition AT_TIMESTAMP")
    return str(position)


def check_destination(params: dict[str, Any]) -> None:
    config = params.get("DestinationConfig") or {}
    if "OnSuccess" in config:
        raise invalid(
            "Unsupported DestinationConfig parameter for given event source mapping type."
        )


def settings(params: dict[str, Any], function_arn: str, base: Settings | None = None) -> Settings:
    """The settings ``params`` ask for, over ``base`` (an update) or the defaults (a create)."""
    for name in _NOT_FOR_STREAMS:
        if params.get(name):
            raise invalid(f"{name} is not supported for DynamoDB stream event sources.")
    if params.get("TumblingWindowInSeconds"):
        raise invalid(
            "TumblingWindowInSeconds: this local cloud does not run tumbling windows; leave it "
            "unset or 0."
        )
    current = base or Settings(function_arn=function_arn)
    changes: dict[str, Any] = {"function_arn": function_arn}
    simple = {
        "BatchSize": "batch_size",
        "MaximumBatchingWindowInSeconds": "window",
        "MaximumRetryAttempts": "max_retries",
        "BisectBatchOnFunctionError": "bisect",
        "ParallelizationFactor": "parallelization",
    }
    for member, attribute in simple.items():
        if params.get(member) is not None:
            changes[attribute] = params[member]
    age = params.get("MaximumRecordAgeInSeconds")
    if age is not None:
        if age != -1 and not 60 <= age <= MAX_RECORD_AGE:
            raise invalid(
                "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and "
                f"{MAX_RECORD_AGE} (inclusive)"
            )
        changes["max_age"] = age
    if "DestinationConfig" in params:
        changes["on_failure"] = _on_failure(params["DestinationConfig"] or {})
    if "FilterCriteria" in params:
        criteria = params["FilterCriteria"] or {}
        try:
            changes["patterns"] = parse_criteria(criteria)
        except BadPattern:
            raise invalid("Invalid filter pattern definition.") from None
        changes["filter_criteria"] = criteria if criteria.get("Filters") else None
    if "FunctionResponseTypes" in params:
        changes["response_types"] = tuple(params["FunctionResponseTypes"] or ())
    extras = dict(current.extras)
    extras.update({name: params[name] for name in ECHOED if params.get(name) is not None})
    changes["extras"] = extras
    return replace(current, **changes)


def _on_failure(config: dict[str, Any]) -> str | None:
    check_destination({"DestinationConfig": config})
    destination = (config.get("OnFailure") or {}).get("Destination")
    if not destination:
        return None
    parts = destination.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] not in ("sqs", "sns"):
        raise invalid(
            f"The destination {destination[:256]} is not supported here: this local cloud sends "
            "the records of discarded batches to an SQS queue or an SNS topic."
        )
    return destination
