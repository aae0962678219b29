"""Our protobuf Record codec against the SDK's own generated classes."""

import numpy as np
import pytest
from sagemaker.amazon.record_pb2 import Record as SdkRecord

from mysfits_lab.recommender.record_proto import parse_record, serialize_label_record


def test_every_tensor_kind_and_sparse_keys_decode_like_the_sdk_wrote_them():
    sdk = SdkRecord()
    sdk.features["values"].float64_tensor.values.extend([1.5, -2.25])
    sdk.features["sparse"].float32_tensor.values.extend([3.0, 4.0])
    sdk.features["sparse"].float32_tensor.keys.extend([1, 7])
    sdk.features["sparse"].float32_tensor.shape.extend([10])
    sdk.label["values"].int32_tensor.values.extend([-3, 11])
    sdk.uid = "row-1"
    record = parse_record(sdk.SerializeToString())
    assert record.features["values"].kind == "float64_tensor"
    assert record.features["values"].values.tolist() == [1.5, -2.25]
    assert record.features["sparse"].keys.tolist() == [1, 7]
    assert record.features["sparse"].shape == [10]
    assert record.label["values"].values.tolist() == [-3, 11]


def test_serialized_labels_are_read_back_by_the_sdk():
    body = serialize_label_record({"predicted_label": [8.0], "distances": [0.5, 1.25]})
    sdk = SdkRecord()
    sdk.ParseFromString(body)
    assert list(sdk.label["predicted_label"].float32_tensor.values) == [8.0]
    assert list(sdk.label["distances"].float32_tensor.values) == [0.5, 1.25]


@pytest.mark.parametrize("garbage", [b"\x0a\xff\x01", b"\x0f", b"\x0a\x05ab"])
def test_broken_bytes_raise_value_error(garbage):
    with pytest.raises(ValueError):
        parse_record(garbage)


def test_large_packed_arrays_decode_exactly():
    values = np.random.default_rng(0).standard_normal(5000).astype(np.float32)
    sdk = SdkRecord()
    sdk.features["values"].float32_tensor.values.extend(values.tolist())
    decoded = parse_record(sdk.SerializeToString()).features["values"].values
    assert np.array_equal(decoded.astype(np.float32), values)


def _sdk_channel(features, labels):
    import io

    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features, labels)
    return buffer.getvalue()


def test_dense_channels_take_the_vectorised_path_and_match_record_by_record_parsing():
    from mysfits_lab.recommender.formats import _dense_recordio, _parse_records, _tensor_values

    rng = np.random.default_rng(1)
    features = rng.integers(1, 9, (300, 5)).astype(np.float32)
    labels = rng.integers(0, 12, 300).astype(np.float32)
    blob = _sdk_channel(features, labels)
    fast = _dense_recordio(blob)
    assert fast is not None
    slow = np.vstack([_tensor_values(r.features["values"], None, "") for r in _parse_records(blob)])
    assert np.array_equal(fast[0], features) and np.array_equal(fast[0], slow)
    assert np.array_equal(fast[1], labels)


def test_mixed_layouts_fall_back_to_record_by_record_parsing():
    from mysfits_lab.recommender import read_training_channel
    from mysfits_lab.recommender.formats import _dense_recordio

    five = _sdk_channel(np.ones((2, 5), np.float32), np.zeros(2, np.float32))
    four = _sdk_channel(np.ones((1, 4), np.float32), np.zeros(1, np.float32))
    assert _dense_recordio(five + four) is None
    with pytest.raises(Exception, match="features"):
        read_training_channel([five + four], "application/x-recordio-protobuf")
