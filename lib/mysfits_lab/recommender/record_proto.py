"""The protobuf ``Record`` of SageMaker's RecordIO format, read and written without the SDK.

Importing the SageMaker SDK for its generated classes costs seconds and a per-record Python loop
over protobuf objects is slow; the message is small enough to decode by hand, with numpy for
the packed number arrays. Layout (field numbers from the SDK's ``record.proto``):

- ``Record``: ``features`` = 1 and ``label`` = 2, both ``map<string, Value>`` (entries with
  ``key`` = 1, ``value`` = 2); ``uid`` = 3, ``metadata`` = 4, ``configuration`` = 5 (ignored).
- ``Value``: one of ``float32_tensor`` = 2, ``float64_tensor`` = 3, ``int32_tensor`` = 7,
  ``bytes`` = 9.
- Tensors: packed ``values`` = 1, ``keys`` = 2 (uint64), ``shape`` = 3 (uint64).

Packed arrays are decoded with numpy (a Python int per varint costs 36 bytes for each byte of
input), and ``parse_record(payload, max_values)`` refuses an array longer than ``max_values``
before decoding it: an inference request cannot make the server hold more than it can use.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
_TENSOR_KINDS = {2: "float32_tensor", 3: "float64_tensor", 7: "int32_tensor", 9: "bytes"}
_FIXED_DTYPES = {"float32_tensor": "<f4", "float64_tensor": "<f8"}


@dataclass
class Tensor:
    kind: str
    values: np.ndarray
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    shape: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))


@dataclass
class Record:
    features: dict[str, Tensor] = field(default_factory=dict)
    label: dict[str, Tensor] = field(default_factory=dict)


def _varint(data: memoryview, offset: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if offset >= len(data):
            raise ValueError("truncated varint")
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, offset
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _fields(data: memoryview):
    """Yield (field number, wire type, value) where value is an int or a memoryview."""
    offset = 0
    while offset < len(data):
        tag, offset = _varint(data, offset)
        number, wire = tag >> 3, tag & 7
        if wire == _VARINT:
            value, offset = _varint(data, offset)
        elif wire == _LENGTH:
            size, offset = _varint(data, offset)
            if offset + size > len(data):
                raise ValueError(f"field {number} runs past the end of the message")
            value, offset = data[offset : offset + size], offset + size
        elif wire in (_FIXED32, _FIXED64):
            width = 4 if wire == _FIXED32 else 8
            if offset + width > len(data):
                raise ValueError(f"field {number} runs past the end of the message")
            value, offset = data[offset : offset + width], offset + width
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} in field {number}")
        yield number, wire, value


def _packed_varints(data: memoryview | int) -> np.ndarray:
    """The uint64 values of a packed varint array (or of one unpacked varint)."""
    if isinstance(data, int):
        return np.array([data], dtype=np.uint64)
    raw = np.frombuffer(data, dtype=np.uint8)
    if not len(raw):
        return np.zeros(0, dtype=np.uint64)
    ends = np.flatnonzero(raw < 0x80)  # the last byte of each varint has no continuation bit
    if not len(ends) or ends[-1] != len(raw) - 1:
        raise ValueError("truncated varint")
    starts = np.concatenate(([0], ends[:-1] + 1))
    if (ends - starts).max() > 9:
        raise ValueError("varint longer than 10 bytes")
    position = np.arange(len(raw)) - np.repeat(starts, ends - starts + 1)
    parts = (raw & 0x7F).astype(np.uint64) << (7 * position).astype(np.uint64)
    return np.bitwise_or.reduceat(parts, starts)


def _count(wire: int, value: memoryview | int, width: int | None) -> int:
    """How many numbers a field holds, found without decoding it."""
    if wire != _LENGTH:
        return 1
    if width:
        return len(value) // width
    return int(np.count_nonzero(np.frombuffer(value, dtype=np.uint8) < 0x80))


def _tensor(kind: str, data: memoryview, max_values: int | None) -> Tensor:
    values: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    shape: list[np.ndarray] = []
    counts = {1: 0, 2: 0, 3: 0}
    for number, wire, value in _fields(data):
        if number not in counts:
            continue
        fixed = number == 1 and kind in _FIXED_DTYPES
        counts[number] += _count(
            wire, value, np.dtype(_FIXED_DTYPES[kind]).itemsize if fixed else None
        )
        if max_values is not None and counts[number] > max_values:
            name = {1: "values", 2: "keys", 3: "shape"}[number]
            raise ValueError(f"a tensor holds more than {max_values} {name}")
        if fixed:
            values.append(np.frombuffer(value, dtype=_FIXED_DTYPES[kind]))
        elif number == 1 and kind == "int32_tensor":
            # negative int32 values travel as 64-bit two's complement varints
            values.append(_packed_varints(value).view(np.int64))
        elif number == 2:
            keys.append(_packed_varints(value))
        elif number == 3:
            shape.append(_packed_varints(value))
    flat = np.concatenate(values).astype(np.float64) if values else np.zeros(0)
    key_array = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
    if len(key_array) and key_array.max() >= 1 << 63:
        raise ValueError("a sparse key is out of range")
    shape_array = np.concatenate(shape) if shape else np.zeros(0, dtype=np.uint64)
    return Tensor(kind, flat, key_array.astype(np.int64), shape_array)


def _value(data: memoryview, max_values: int | None) -> Tensor:
    for number, _wire, value in _fields(data):
        kind = _TENSOR_KINDS.get(number)
        if kind == "bytes":
            return Tensor("bytes", np.zeros(0))
        if kind:
            return _tensor(kind, value, max_values)
    return Tensor("empty", np.zeros(0))


def _map_entry(data: memoryview, max_values: int | None) -> tuple[str, Tensor]:
    key, tensor = "", Tensor("empty", np.zeros(0))
    for number, _wire, value in _fields(data):
        if number == 1:
            key = bytes(value).decode("utf-8")
        elif number == 2:
            tensor = _value(value, max_values)
    return key, tensor


def parse_record(payload: bytes, max_values: int | None = None) -> Record:
    """Decode one protobuf ``Record``; raises ValueError when the bytes are not one, or when a
    tensor holds more than ``max_values`` values, keys or shape entries."""
    record = Record()
    for number, wire, value in _fields(memoryview(payload)):
        if number in (1, 2) and wire == _LENGTH:
            key, tensor = _map_entry(value, max_values)
            (record.features if number == 1 else record.label)[key] = tensor
    return record


def _key(number: int, wire: int) -> bytes:
    return _encode_varint(number << 3 | wire)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number: int, body: bytes) -> bytes:
    return _key(number, _LENGTH) + _encode_varint(len(body)) + body


def serialize_label_record(label: dict[str, list[float]]) -> bytes:
    """A ``Record`` whose ``label`` map holds float32 tensors (the k-NN response shape)."""
    out = bytearray()
    for name, values in label.items():
        packed = struct.pack(f"<{len(values)}f", *values)
        tensor = _length_delimited(1, packed)
        value = _length_delimited(2, tensor)  # Value.float32_tensor
        entry = _length_delimited(1, name.encode("utf-8")) + _length_delimited(2, value)
        out += _length_delimited(2, entry)  # Record.label
    return bytes(out)


def label_record_layout(sizes: list[tuple[str, int]]) -> tuple[bytes, list[int]]:
    """A ``serialize_label_record`` payload with zeros for every value, and where each float32
    tensor's values start in it: records that differ only in their numbers can then be
    written as one numpy array. A tensor's packed values are the last bytes of its map entry
    (every enclosing message puts its header first)."""
    payload = bytearray()
    starts = []
    for name, count in sizes:
        entry = serialize_label_record({name: [0.0] * count})
        payload += entry
        starts.append(len(payload) - 4 * count)
    return bytes(payload), starts


def _spans(data: bytes, start: int, end: int):
    """Yield (field number, wire type, value start, value end) within data[start:end]."""
    view = memoryview(data)
    offset = start
    while offset < end:
        tag, offset = _varint(view, offset)
        number, wire = tag >> 3, tag & 7
        if wire != _LENGTH:
            return  # dense float layouts hold length-delimited fields only
        size, offset = _varint(view, offset)
        yield number, wire, offset, offset + size
        offset += size


def _packed_float32_span(payload: bytes, field: int) -> tuple[int, int] | None:
    """Where the packed float32 values of ``field`` (features/label) map entry "values" sit."""
    for number, _wire, start, end in _spans(payload, 0, len(payload)):
        if number != field:
            continue
        entry = {n: (s, e) for n, _w, s, e in _spans(payload, start, end)}
        if set(entry) != {1, 2} or payload[slice(*entry[1])] != b"values":
            return None
        value = list(_spans(payload, *entry[2]))
        if len(value) != 1 or value[0][0] != 2:  # Value.float32_tensor only
            return None
        tensor = list(_spans(payload, value[0][2], value[0][3]))
        if len(tensor) != 1 or tensor[0][0] != 1:  # values only: no keys, no shape
            return None
        return tensor[0][2], tensor[0][3]
    return None


def dense_feature_span(payload: bytes) -> tuple[int, int] | None:
    """Byte span of the feature floats when a record holds dense float32 ``features["values"]``
    and nothing else (what the SDK's ``RecordSerializer`` sends); otherwise None."""
    try:
        fields = list(_fields(memoryview(payload)))
    except ValueError:
        return None
    if len(fields) != 1 or fields[0][:2] != (1, _LENGTH):
        return None
    return _packed_float32_span(payload, 1)


def dense_columns(payload: bytes) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Byte spans of the feature and label floats when a record is dense float32 with nothing
    else in it (what the SDK's ``write_numpy_to_dense_tensor`` writes); otherwise None."""
    features, label = _packed_float32_span(payload, 1), _packed_float32_span(payload, 2)
    if features is None or label is None or (label[1] - label[0]) != 4:
        return None
    return features, label
