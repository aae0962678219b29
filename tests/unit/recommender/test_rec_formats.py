import io
import json
import struct

import numpy as np
import pytest
from sagemaker.amazon.common import read_records, write_numpy_to_dense_tensor
from sagemaker.serializer_utils import _write_recordio
from sagemaker.serializers import RecordSerializer

from mysfits_lab.recommender.formats import (
    RECORDIO_MAGIC,
    DataError,
    InferenceError,
    decode_request,
    encode_response,
    frame_recordio,
    iter_recordio,
    parse_accept,
    read_training_channel,
)
from mysfits_lab.recommender.knn import KnnResult

FEATURES = np.array([[1, 3, 2, 7, 5], [8, 8, 1, 1, 4], [2, 2, 2, 2, 2]], dtype=np.float32)
LABELS = np.array([11, 0, 6], dtype=np.float32)


def sdk_recordio(features, labels=None):
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features, labels)
    return buffer.getvalue()


# --- training channel ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/csv", "text/csv;label_size=1", "text/csv; label_size=1"]
)
def test_training_csv_takes_the_label_from_the_first_column(content_type):
    body = b"11,1,3,2,7,5\n0,8,8,1,1,4\n6,2,2,2,2,2\n"
    features, labels = read_training_channel([body], content_type)
    np.testing.assert_array_equal(features, FEATURES)
    np.testing.assert_array_equal(labels, LABELS)
    assert features.dtype == np.float32 and labels.dtype == np.float32


def test_training_csv_concatenates_files_and_skips_empty_ones():
    features, labels = read_training_channel(
        [b"11,1,3,2,7,5\n", b"", b"0,8,8,1,1,4\r\n6,2,2,2,2,2"], "text/csv"
    )
    np.testing.assert_array_equal(features, FEATURES)
    np.testing.assert_array_equal(labels, LABELS)


@pytest.mark.parametrize(
    ("blobs", "content_type", "message"),
    [
        ([b""], "text/csv", "no records"),
        ([], "text/csv", "no records"),
        ([b"1,2,3\n4,5\n"], "text/csv", "number of columns changed"),
        ([b"1,2,3\n4,five,6\n"], "text/csv", "could not convert string 'five'"),
        ([b"1,2,3\n", b"1,2\n"], "text/csv", "disagree on the feature count"),
        ([b"1\n2\n"], "text/csv", "needs a label followed by at least one feature"),
        ([b"1,2\n"], "text/csv;label_size=0", "needs label_size=1"),
        ([b"1,2\n"], "application/json", "unsupported train channel content type"),
        ([b"\x00\x01\x02\x03\x04\x05\x06\x07"], "application/x-recordio-protobuf", "magic"),
    ],
)
def test_training_channel_errors_are_data_errors(blobs, content_type, message):
    with pytest.raises(DataError, match=message):
        read_training_channel(blobs, content_type)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, int])
def test_training_recordio_written_by_the_sdk_is_read_back(dtype):
    blob = sdk_recordio(FEATURES.astype(dtype), LABELS.astype(dtype))
    features, labels = read_training_channel([blob, blob], "application/x-recordio-protobuf")
    np.testing.assert_array_equal(features, np.vstack([FEATURES, FEATURES]))
    np.testing.assert_array_equal(labels, np.concatenate([LABELS, LABELS]))


def test_training_recordio_without_labels_is_rejected():
    with pytest.raises(DataError, match=r"record 0 has no label\['values'\]"):
        read_training_channel([sdk_recordio(FEATURES)], "application/x-recordio-protobuf")


def test_training_recordio_with_ragged_records_is_rejected():
    blob = sdk_recordio(FEATURES, LABELS) + sdk_recordio(FEATURES[:, :4], LABELS)
    with pytest.raises(DataError, match="record 3 has 4 features but record 0 has 5"):
        read_training_channel([blob], "application/x-recordio-protobuf")


# --- RecordIO framing ----------------------------------------------------------------------------


def test_framing_is_byte_identical_to_the_sdk_writer():
    payloads = [b"", b"a", b"abcd", b"abcdefg"]
    buffer = io.BytesIO()
    for payload in payloads:
        _write_recordio(buffer, payload)
    assert frame_recordio(payloads) == buffer.getvalue()
    assert list(iter_recordio(buffer.getvalue())) == payloads


def test_multi_part_records_are_joined_with_the_magic_number():
    magic = struct.pack("<I", RECORDIO_MAGIC)

    def part(flag, payload):
        header = struct.pack("<II", RECORDIO_MAGIC, (flag << 29) | len(payload))
        return header + payload + b"\x00" * (-len(payload) % 4)

    data = part(1, b"abc") + part(2, b"") + part(3, b"xyz12") + part(0, b"next")
    assert list(iter_recordio(data)) == [b"abc" + magic + magic + b"xyz12", b"next"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (struct.pack("<II", RECORDIO_MAGIC, 10) + b"short", "truncated"),
        (struct.pack("<I", RECORDIO_MAGIC), "truncated RecordIO header"),
        (struct.pack("<II", 0x12345678, 0), "bad RecordIO magic number 0x12345678"),
    ],
)
def test_broken_framing_is_reported(data, message):
    with pytest.raises(ValueError, match=message):
        list(iter_recordio(data))


# --- inference requests ----------------------------------------------------------------------


def test_csv_request_with_one_or_many_rows():
    np.testing.assert_array_equal(decode_request(b"1,3,2,7,5", "text/csv"), FEATURES[:1])
    body = b"1,3,2,7,5\n8,8,1,1,4\n2,2,2,2,2\n"
    np.testing.assert_array_equal(decode_request(body, "text/csv", feature_dim=5), FEATURES)


def test_csv_request_can_carry_a_label_column():
    body = b"11,1,3,2,7,5\n0,8,8,1,1,4\n6,2,2,2,2,2\n"
    np.testing.assert_array_equal(decode_request(body, "text/csv; label_size=1"), FEATURES)


def test_json_request_accepts_both_instance_shapes():
    body = json.dumps(
        {
            "instances": [
                {"features": [1, 3, 2, 7, 5]},
                {"data": {"features": {"values": [8, 8, 1, 1, 4]}}},
                {"data": {"features": {"keys": [0, 1, 2, 3, 4], "values": [2] * 5, "shape": [5]}}},
            ]
        }
    ).encode()
    np.testing.assert_array_equal(decode_request(body, "application/json", 5), FEATURES)


def test_sparse_json_instances_are_densified():
    body = b'{"instances": [{"data": {"features": {"keys": [1, 3], "values": [4.5, 2]}}}]}'
    np.testing.assert_array_equal(
        decode_request(body, "application/json", feature_dim=5), [[0, 4.5, 0, 2, 0]]
    )


def test_jsonlines_request_accepts_both_instance_shapes():
    body = (
        b'{"features": [1, 3, 2, 7, 5]}\n\n'
        b'{"data": {"features": {"values": [8, 8, 1, 1, 4]}}}\n'
        b'{"features": [2, 2, 2, 2, 2]}\n'
    )
    np.testing.assert_array_equal(decode_request(body, "application/jsonlines"), FEATURES)


def test_recordio_request_from_the_sdk_serializer():
    body = RecordSerializer().serialize(FEATURES).getvalue()
    content_type = RecordSerializer().CONTENT_TYPE
    np.testing.assert_array_equal(decode_request(body, content_type, feature_dim=5), FEATURES)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"1,2,3", "text/plain", "unsupported content type 'text/plain' .*text/csv"),
        (b"", "text/csv", "contains no records"),
        (b"1,2,3\n4,5\n", "text/csv", "malformed text/csv request: .*columns"),
        (b"1,a,3", "text/csv", "malformed text/csv request: could not convert"),
        (b"1,2,3,4", "text/csv", r"expected 5 features per record \(feature_dim\), got 4"),
        (b"{not json", "application/json", "malformed application/json request"),
        (b'{"rows": []}', "application/json", 'expected an object {"instances"'),
        (b'{"instances": []}', "application/json", "contains no records"),
        (b'{"instances": [{"x": 1}]}', "application/json", "instance 0 has no features"),
        (b'{"instances": [{"features": ["a"]}]}', "application/json", "list of numbers"),
        (
            b'{"instances": [{"features": [1, 2]}, {"features": [1]}]}',
            "application/json",
            "instance 1 has 1 features but instance 0 has 2",
        ),
        (b'{"features": [NaN, 1, 2, 3, 4]}', "application/jsonlines", "finite"),
        (b"garbage!", "application/x-recordio-protobuf", "malformed .*magic"),
        (b"1,2,3,4,5", "text/csv; charset=klingon", "unknown encoding"),
        (
            b'{"instances": [{"data": {"features": {"keys": [-1], "values": [1]}}}]}',
            "application/json",
            "sparse keys that do not fit",
        ),
    ],
)
def test_bad_requests_raise_inference_errors(body, content_type, message):
    with pytest.raises(InferenceError, match=message):
        decode_request(body, content_type, feature_dim=5)


# --- inference responses -----------------------------------------------------------------


@pytest.fixture
def verbose_result():
    return KnnResult(
        predicted_label=np.array([8.0, 2.0]),
        distances=np.array([[0.5, 1.0, np.nan], [0.0, 2.0, 3.0]], dtype=np.float32),
        labels=np.array([[8.0, 3.0, np.nan], [2.0, 2.0, 0.0]]),
    )


def test_json_response_has_float_labels(verbose_result):
    body, content_type = encode_response(verbose_result, "application/json")
    assert content_type == "application/json"
    assert body == b'{"predictions": [{"predicted_label": 8.0}, {"predicted_label": 2.0}]}'


@pytest.mark.parametrize("accept", [None, "", "*/*", "text/html, application/*"])
def test_json_is_the_default_response(verbose_result, accept):
    _, content_type = encode_response(verbose_result, accept)
    assert content_type == "application/json"


def test_verbose_json_adds_distances_and_neighbour_labels(verbose_result):
    body, _ = encode_response(verbose_result, "application/json; verbose=true")
    assert json.loads(body) == {
        "predictions": [
            {"predicted_label": 8.0, "distances": [0.5, 1.0], "labels": [8.0, 3.0]},
            {"predicted_label": 2.0, "distances": [0.0, 2.0, 3.0], "labels": [2.0, 2.0, 0.0]},
        ]
    }


def test_jsonlines_response_has_one_prediction_per_line(verbose_result):
    body, content_type = encode_response(verbose_result, "application/jsonlines")
    assert content_type == "application/jsonlines"
    assert body == b'{"predicted_label": 8.0}\n{"predicted_label": 2.0}\n'
    verbose, _ = encode_response(verbose_result, "application/jsonlines;verbose=True")
    assert json.loads(verbose.splitlines()[1])["labels"] == [2.0, 2.0, 0.0]


def test_recordio_response_is_readable_by_the_sdk(verbose_result):
    body, content_type = encode_response(verbose_result, "application/x-recordio-protobuf")
    assert content_type == "application/x-recordio-protobuf"
    records = read_records(io.BytesIO(body))
    assert [list(r.label) for r in records] == [["predicted_label"], ["predicted_label"]]
    assert [r.label["predicted_label"].float32_tensor.values[0] for r in records] == [8.0, 2.0]


def test_verbose_recordio_response_carries_neighbours(verbose_result):
    body, _ = encode_response(verbose_result, "application/x-recordio-protobuf; verbose=true")
    first = read_records(io.BytesIO(body))[0]
    assert set(first.label) == {"predicted_label", "distances", "labels"}
    assert list(first.label["distances"].float32_tensor.values) == [0.5, 1.0]
    assert list(first.label["labels"].float32_tensor.values) == [8.0, 3.0]


def test_unsupported_accept_is_an_inference_error(verbose_result):
    with pytest.raises(
        InferenceError, match="unsupported accept type 'text/csv'.*application/json"
    ):
        encode_response(verbose_result, "text/csv")


def test_verbose_needs_neighbours_in_the_result():
    with pytest.raises(ValueError, match="verbose"):
        encode_response(KnnResult(predicted_label=np.array([1.0])), "application/json;verbose=true")


def test_parse_accept_picks_the_first_supported_type():
    assert parse_accept("text/csv, application/jsonlines; verbose=true") == (
        "application/jsonlines",
        True,
    )
    assert parse_accept("application/json; verbose=false") == ("application/json", False)


@pytest.mark.parametrize(
    "content_type",
    ["text/csv", "application/json", "application/jsonlines", "application/x-recordio-protobuf"],
)
def test_each_request_format_round_trips(content_type):
    rows = np.random.default_rng(0).uniform(-5, 5, size=(20, 5)).astype(np.float32)
    if content_type == "text/csv":
        body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()
    elif content_type == "application/json":
        body = json.dumps({"instances": [{"features": row.tolist()} for row in rows]}).encode()
    elif content_type == "application/jsonlines":
        body = "\n".join(json.dumps({"features": row.tolist()}) for row in rows).encode()
    else:
        body = sdk_recordio(rows)
    np.testing.assert_array_equal(decode_request(body, content_type, feature_dim=5), rows)


@pytest.mark.parametrize(
    "accept", ["application/json", "application/jsonlines", "application/x-recordio-protobuf"]
)
def test_each_response_format_round_trips(accept):
    predicted = np.arange(12, dtype=float)
    body, _ = encode_response(KnnResult(predicted_label=predicted), accept)
    if accept == "application/json":
        decoded = [p["predicted_label"] for p in json.loads(body)["predictions"]]
    elif accept == "application/jsonlines":
        decoded = [json.loads(line)["predicted_label"] for line in body.splitlines()]
    else:
        records = read_records(io.BytesIO(body))
        decoded = [r.label["predicted_label"].float32_tensor.values[0] for r in records]
    np.testing.assert_array_equal(decoded, predicted)


# --- large batches: the vectorised paths write and read what the record-by-record ones do ---


def _reference_body(result, accept):
    """What the response was, written prediction by prediction."""
    from mysfits_lab.recommender.formats import _prediction_dicts, parse_accept
    from mysfits_lab.recommender.record_proto import serialize_label_record

    mime, verbose = parse_accept(accept)
    predictions = _prediction_dicts(result, verbose)
    if mime == "application/json":
        return json.dumps({"predictions": predictions}).encode()
    if mime == "application/jsonlines":
        return "".join(json.dumps(p) + "\n" for p in predictions).encode()
    return frame_recordio(
        serialize_label_record({n: v if isinstance(v, list) else [v] for n, v in p.items()})
        for p in predictions
    )


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/jsonlines",
        "application/x-recordio-protobuf",
        "application/x-recordio-protobuf; verbose=true",
    ],
)
@pytest.mark.parametrize("kind", ["classifier", "regressor", "empty"])
def test_vectorised_responses_are_byte_identical(accept, kind):
    rng = np.random.default_rng(4)
    rows = 0 if kind == "empty" else 5_000
    if kind == "regressor":
        predicted = rng.normal(scale=1e3, size=rows)
    else:
        predicted = rng.integers(0, 12, size=rows).astype(float)
    result = KnnResult(
        predicted_label=predicted,
        distances=rng.uniform(0, 3, size=(rows, 10)).astype(np.float32),
        labels=rng.integers(0, 12, size=(rows, 10)).astype(float),
    )
    assert encode_response(result, accept)[0] == _reference_body(result, accept)


def test_a_large_recordio_request_decodes_like_record_by_record_parsing():
    from mysfits_lab.recommender.formats import _request_recordio

    rows = np.random.default_rng(5).integers(1, 9, size=(20_000, 5)).astype(np.float32)
    body = RecordSerializer().serialize(rows).getvalue()
    fast = decode_request(body, "application/x-recordio-protobuf", feature_dim=5)
    np.testing.assert_array_equal(fast, rows)
    np.testing.assert_array_equal(fast, _request_recordio(body, 5, None))


@pytest.mark.parametrize(
    "body",
    [sdk_recordio(FEATURES, LABELS), sdk_recordio(FEATURES.astype(np.float64))],
    ids=["with-labels", "float64"],
)
def test_other_recordio_layouts_take_the_record_by_record_path(body):
    np.testing.assert_array_equal(
        decode_request(body, "application/x-recordio-protobuf", feature_dim=5), FEATURES
    )


def test_ragged_recordio_records_are_named():
    body = sdk_recordio(FEATURES[:2]) + sdk_recordio(FEATURES[:1, :4])
    with pytest.raises(InferenceError, match="record 2 has 4 features but record 0 has 5"):
        decode_request(body, "application/x-recordio-protobuf")


def test_a_recordio_request_with_the_wrong_width_is_refused_as_before():
    body = sdk_recordio(np.ones((50, 6), dtype=np.float32))
    with pytest.raises(InferenceError, match="more than 5 values"):
        decode_request(body, "application/x-recordio-protobuf", feature_dim=5)


def test_too_many_dense_recordio_records_are_refused():
    from mysfits_lab.recommender.formats import TooManyRecords

    body = sdk_recordio(np.ones((30, 5), dtype=np.float32))
    with pytest.raises(TooManyRecords):
        decode_request(body, "application/x-recordio-protobuf", feature_dim=5, max_records=29)
