"""A destination's settings as the local cloud delivers them, and a stream's buffer."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.firehose.models import (
    MIB,
    check_destination,
    check_source,
    described_destination,
    s3_destination,
    update_of,
)
from tests.unit.localcloud.services.firehose.fakes import LAMBDA_ARN, destination, records, stream

BUCKET = "arn:aws:s3:::clicks"


def _lambda(*parameters: tuple[str, str], enabled: bool = True) -> dict:
    pairs = [("LambdaArn", LAMBDA_ARN), *parameters]
    return {
        "Enabled": enabled,
        "Processors": [
            {
                "Type": "Lambda",
                "Parameters": [{"ParameterName": n, "ParameterValue": v} for n, v in pairs],
            }
        ],
    }


def _refused(config: dict, message: str) -> None:
    with pytest.raises(ServiceError) as error:
        check_destination({"BucketARN": BUCKET, **config})
    assert error.value.code == "InvalidArgumentException"
    assert message in error.value.message


def test_aws_defaults_apply_when_nothing_is_set():
    destination = check_destination({"BucketARN": BUCKET, "RoleARN": "arn:aws:iam::1:role/r"})
    assert destination.bucket == "clicks"
    assert destination.size_bytes == 5 * MIB and destination.interval_seconds == 300
    assert destination.prefix == "" and destination.error_prefix is None
    assert destination.extension == "" and destination.processor is None


def test_the_workshop_stream_settings():
    destination = check_destination(
        {
            "BucketARN": BUCKET,
            "Prefix": "firehose/",
            "BufferingHints": {"SizeInMBs": 50, "IntervalInSeconds": 60},
            "CompressionFormat": "UNCOMPRESSED",
            "ProcessingConfiguration": _lambda(),
        }
    )
    assert (destination.size_bytes, destination.interval_seconds) == (50 * MIB, 60)
    assert destination.processor is not None
    assert destination.processor.lambda_arn == LAMBDA_ARN
    assert destination.processor.retries == 3
    assert destination.processor.buffer_bytes == MIB


def test_processor_parameters_are_read_and_checked():
    processor = check_destination(
        {
            "BucketARN": BUCKET,
            "ProcessingConfiguration": _lambda(
                ("NumberOfRetries", "0"),
                ("BufferSizeInMBs", "0.5"),
                ("BufferIntervalInSeconds", "120"),
            ),
        }
    ).processor
    assert processor is not None
    assert (processor.retries, processor.buffer_bytes, processor.interval_seconds) == (
        0,
        MIB // 2,
        120,
    )
    _refused({"ProcessingConfiguration": _lambda(("BufferSizeInMBs", "4"))}, "between 0.2 and 3")
    _refused(
        {"ProcessingConfiguration": _lambda(("BufferIntervalInSeconds", "901"))},
        "between 0 and 900",
    )
    _refused({"ProcessingConfiguration": _lambda(("NumberOfRetries", "x"))}, "must be a number")
    _refused(
        {"ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "Lambda"}]}},
        "LambdaArn",
    )


def test_a_lone_record_waits_for_the_processors_interval_then_the_destinations():
    config = {
        "BucketARN": BUCKET,
        "BufferingHints": {"SizeInMBs": 50, "IntervalInSeconds": 15},
        "ProcessingConfiguration": _lambda(("BufferIntervalInSeconds", "0")),
    }
    assert check_destination(config).latency_seconds == 15
    config["ProcessingConfiguration"] = _lambda(("BufferIntervalInSeconds", "20"))
    assert check_destination(config).latency_seconds == 35
    config["ProcessingConfiguration"] = _lambda()  # Lambda's default: 60 s
    assert check_destination(config).latency_seconds == 75
    del config["ProcessingConfiguration"]
    assert check_destination(config).latency_seconds == 15


def test_a_disabled_processing_configuration_is_no_processor():
    config = {"BucketARN": BUCKET, "ProcessingConfiguration": _lambda(enabled=False)}
    assert check_destination(config).processor is None


def test_gzip_objects_end_in_gz_unless_a_file_extension_is_set():
    assert check_destination({"BucketARN": BUCKET, "CompressionFormat": "GZIP"}).extension == ".gz"
    config = {"BucketARN": BUCKET, "CompressionFormat": "GZIP", "FileExtension": ".json.gz"}
    assert check_destination(config).extension == ".json.gz"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"BufferingHints": {"SizeInMBs": 1}}, "you must also provide a value for the other"),
        ({"BufferingHints": {"IntervalInSeconds": 60}}, "you must also provide"),
        ({"BufferingHints": {"SizeInMBs": 129, "IntervalInSeconds": 60}}, "1-128"),
        ({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 901}}, "0-900"),
        ({"CompressionFormat": "ZIP"}, "CompressionFormat ZIP is not supported by the local"),
        ({"DynamicPartitioningConfiguration": {"Enabled": True}}, "DynamicPartitioning"),
        ({"DataFormatConversionConfiguration": {"Enabled": True}}, "DataFormatConversion"),
        ({"S3BackupMode": "Enabled"}, "S3BackupMode"),
        ({"CustomTimeZone": "Asia/Tokyo"}, "CustomTimeZone"),
        ({"Prefix": "!{timestamp:yyyy}/"}, "ErrorOutputPrefix cannot be null"),
        (
            {
                "ProcessingConfiguration": {
                    "Enabled": True,
                    "Processors": [{"Type": "Decompression"}],
                }
            },
            "processors Decompression",
        ),
    ],
)
def test_what_aws_or_the_local_cloud_refuses(config, message):
    _refused(config, message)


def test_the_s3_destination_is_found_in_requests_and_descriptions():
    config = {"BucketARN": BUCKET}
    assert s3_destination({"ExtendedS3DestinationConfiguration": config}) == config
    assert s3_destination({"S3DestinationConfiguration": config}) == config
    assert s3_destination({"HttpEndpointDestinationConfiguration": {}}) is None
    described = {
        "Destinations": [
            {
                "S3DestinationDescription": {"BucketARN": "x"},
                "ExtendedS3DestinationDescription": config,
            }
        ]
    }
    assert described_destination(described) == config
    assert described_destination({"Destinations": []}) is None


def test_only_direct_put_sources_and_s3_destinations_are_delivered():
    check_source({})
    check_source({"DeliveryStreamType": "DirectPut"})
    with pytest.raises(ServiceError, match="KinesisStreamAsSource is not supported"):
        check_source({"DeliveryStreamType": "KinesisStreamAsSource"})
    with pytest.raises(ServiceError, match="A Redshift destination is not supported"):
        s3_destination({"RedshiftDestinationConfiguration": {"ClusterJDBCURL": "jdbc:x"}})


def test_an_update_is_found_by_its_kind():
    assert update_of({"S3DestinationUpdate": {"Prefix": "a/"}}) == (
        "S3DestinationUpdate",
        {"Prefix": "a/"},
    )
    found = update_of({"ExtendedS3DestinationUpdate": {"Prefix": "b/"}})
    assert found is not None and found[0] == "ExtendedS3DestinationUpdate"
    assert update_of({"DeliveryStreamName": "s", "DestinationId": "d"}) is None
    with pytest.raises(ServiceError, match="SplunkDestinationUpdate"):
        update_of({"SplunkDestinationUpdate": {"HECEndpoint": "https://x"}})


def test_a_stream_buffer_knows_when_it_is_full_and_empties_when_taken():
    small = stream(destination(size_bytes=10))
    first, second = records(b"123456", b"7890")
    small.append(first, now=5.0)
    assert small.started == 5.0 and not small.full()
    assert not small.overflows(4) and small.overflows(5)
    small.append(second, now=6.0)
    assert small.full() and small.started == 5.0
    assert small.take() == [first, second]
    assert (small.records, small.size, small.started) == ([], 0, None)
    assert not small.overflows(100)  # an empty buffer takes any one record


def test_a_stream_is_creating_until_its_time():
    creating = stream()
    creating.active_at = 10.0
    assert creating.status(9.9) == "CREATING"
    assert creating.status(10.0) == "ACTIVE"
    assert set(creating.to_api(10.0)) >= {
        "buffered_records",
        "buffered_bytes",
        "delivered_objects",
        "delivered_records",
        "failed_records",
        "last_error",
    }
