"""The SageMaker k-NN wire formats: training channel input, inference requests and responses.

* Training: ``text/csv`` with the label in the first column (``label_size=1``), or
  ``application/x-recordio-protobuf`` records (``features["values"]`` and ``label["values"]``).
* Requests: ``text/csv`` (features only unless ``label_size`` says otherwise),
  ``application/json`` (``{"instances": [...]}``), ``application/jsonlines`` and RecordIO-protobuf;
  an instance is ``{"features": [...]}`` or ``{"data": {"features": {"values": [...]}}}``
  (``keys`` + ``shape`` for sparse vectors).
* Responses: ``application/json``, ``application/jsonlines`` or RecordIO-protobuf, with
  ``predicted_label`` as a float; ``verbose=true`` on the accept type adds ``distances`` and
  neighbour ``labels``.

Requests are checked before anything is allocated for them: a sparse vector's ``shape`` must be
the model's ``feature_dim`` (one dimension), protobuf arrays may not hold more numbers than a
record can use, JSON may not nest deeper than the documented shapes need, and a request may not
ask for more predictions than SageMaker's 6 MB response limit can carry.

RecordIO framing (MXNet's, as used by SageMaker): each record is a little-endian uint32 magic
0xCED7230A, a uint32 whose low 29 bits are the payload length and top 3 bits a continuation flag,
the payload, then zero padding to a multiple of 4 bytes. The protobuf ``Record`` messages are
read and written by ``record_proto``.
"""

from __future__ import annotations

import functools
import io
import json
import math
import re
import struct
from array import array
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from mysfits_lab.recommender.record_proto import (
    Record,
    Tensor,
    dense_columns,
    dense_feature_span,
    label_record_layout,
    parse_record,
    serialize_label_record,
)

if TYPE_CHECKING:
    from mysfits_lab.recommender.knn import KnnResult

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
RECORDIO = "application/x-recordio-protobuf"
TRAINING_CONTENT_TYPES = (CSV, RECORDIO)
REQUEST_CONTENT_TYPES = (CSV, JSON, JSONLINES, RECORDIO)
RESPONSE_CONTENT_TYPES = (JSON, JSONLINES, RECORDIO)

# SageMaker's limit on an InvokeEndpoint request or response body (botocore: max 6291456).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# The most features of a vector when the model's dimension is not known.
MAX_FEATURES = 1 << 16
# The documented instance shapes nest 6 deep: {"instances": [{"data": {"features": {"values": [
MAX_JSON_DEPTH = 8

RECORDIO_MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", RECORDIO_MAGIC)
_LENGTH_MASK = (1 << 29) - 1


class DataError(ValueError):
    """The training data cannot be used (empty, malformed, wrong shape)."""


class InferenceError(ValueError):
    """A client error in an inference request (unsupported type, malformed body, wrong shape)."""


class TooManyRecords(InferenceError):
    """More records than the predictions of one response can hold."""

    def __init__(self, limit: int):
        super().__init__(
            f"a request may hold at most {limit} records for this accept type: their predictions"
            f" must fit in SageMaker's {MAX_PAYLOAD_BYTES // 2**20} MB response limit"
        )


def parse_media_type(value: str | None) -> tuple[str, dict[str, str]]:
    """Split 'text/csv; label_size=1' into ('text/csv', {'label_size': '1'})."""
    parts = (value or "").split(";")
    params: dict[str, str] = {}
    for part in parts[1:]:
        key, _, raw = part.partition("=")
        if key.strip():
            params[key.strip().lower()] = raw.strip().strip('"')
    return parts[0].strip().lower(), params


# --- RecordIO framing ---------------------------------------------------------------------


def iter_recordio(data: bytes) -> Iterator[bytes]:
    """Yield the payloads of a RecordIO byte string; raises ValueError on broken framing."""
    view = memoryview(data)
    offset = 0
    pending: list[bytes] = []
    while offset < len(view):
        if len(view) - offset < 8:
            raise ValueError(f"truncated RecordIO header at byte {offset}")
        magic, word = struct.unpack_from("<II", view, offset)
        if magic != RECORDIO_MAGIC:
            raise ValueError(f"bad RecordIO magic number {magic:#010x} at byte {offset}")
        length, flag = word & _LENGTH_MASK, word >> 29
        start = offset + 8
        end = start + length
        if end > len(view):
            raise ValueError(f"RecordIO record at byte {offset} is truncated")
        payload = bytes(view[start:end])
        offset = end + (-length % 4)
        # Flags 1/2/3 mark the first/middle/last part of a record that the writer split where
        # the payload contained the magic number; the parts are joined with the magic again.
        if flag == 0:
            yield payload
        elif flag == 1:
            pending = [payload]
        elif flag in (2, 3) and pending:
            pending.append(payload)
            if flag == 3:
                yield _MAGIC_BYTES.join(pending)
                pending = []
        else:
            raise ValueError(f"unexpected RecordIO continuation flag {flag} at byte {offset}")
    if pending:
        raise ValueError("RecordIO data ends inside a multi-part record")


def frame_recordio(payloads: Iterable[bytes]) -> bytes:
    """Frame payloads as single-part RecordIO records."""
    out = bytearray()
    for payload in payloads:
        out += struct.pack("<II", RECORDIO_MAGIC, len(payload))
        out += payload
        out += b"\x00" * (-len(payload) % 4)
    return bytes(out)


def _sparse_size(shape: Any, feature_dim: int | None, where: str) -> int:
    """The length of a sparse vector: its ``shape`` (one dimension), else ``feature_dim``;
    checked against ``feature_dim`` (or ``MAX_FEATURES``) before anything is allocated."""
    if shape is None or (isinstance(shape, list | np.ndarray) and len(shape) == 0):
        size = feature_dim
    elif isinstance(shape, list | np.ndarray) and len(shape) == 1 and _is_int(shape[0]):
        size = int(shape[0])
    else:
        raise ValueError(f"{where} has shape {shape!r:.80}; a vector's shape is [length]")
    if size is None:
        raise ValueError(f"{where} is sparse but has no shape")
    if feature_dim is not None and size != feature_dim:
        raise ValueError(
            f"{where} has shape [{size}] but the model expects {feature_dim} features (feature_dim)"
        )
    if not 0 < size <= MAX_FEATURES:
        raise ValueError(f"{where} has shape [{size}]; at most {MAX_FEATURES} features are served")
    return size


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _densify(keys: np.ndarray, values: np.ndarray, size: int, where: str) -> np.ndarray:
    if len(keys) != len(values) or (len(keys) and (keys.min() < 0 or keys.max() >= size)):
        raise ValueError(f"{where} has sparse keys that do not fit its shape {size}")
    dense = np.zeros(size)
    dense[keys] = values
    return dense


def _tensor_values(tensor: Tensor, dense_dim: int | None, where: str) -> np.ndarray:
    """Float values of a protobuf ``Value``; sparse tensors are densified using their shape."""
    if tensor.kind not in ("float32_tensor", "float64_tensor", "int32_tensor"):
        raise ValueError(f"{where} must be a float32, float64 or int32 tensor (got {tensor.kind})")
    if not len(tensor.keys):
        return tensor.values
    size = _sparse_size(tensor.shape, dense_dim, where)
    return _densify(tensor.keys, tensor.values, size, where)


def _parse_records(data: bytes, max_values: int | None = None) -> Iterator[Record]:
    for number, payload in enumerate(iter_recordio(data)):
        try:
            yield parse_record(payload, max_values)
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"record {number} is not a valid protobuf Record: {error}") from None


class _Rows:
    """Rows of one width gathered into one float32 buffer, not one numpy array per row: a
    request of many short rows must not cost many times its size."""

    def __init__(self, what: str, max_rows: int | None):
        self.what, self.max_rows = what, max_rows
        self.values = array("f")
        self.width: int | None = None
        self.count = 0

    def add(self, row: np.ndarray) -> None:
        if self.max_rows is not None and self.count >= self.max_rows:
            raise TooManyRecords(self.max_rows)
        if self.width is None:
            self.width = len(row)
        elif len(row) != self.width:
            raise ValueError(
                f"{self.what} {self.count} has {len(row)} features"
                f" but {self.what} 0 has {self.width}"
            )
        self.values.frombytes(np.asarray(row, dtype="<f4").tobytes())
        self.count += 1

    def matrix(self) -> np.ndarray | None:
        if not self.count:
            return None
        return np.frombuffer(self.values, dtype="<f4").reshape(self.count, -1).astype(np.float32)


def _stack(rows: list[np.ndarray], what: str) -> np.ndarray:
    """Stack 1-D rows into a matrix, naming the first row whose length differs."""
    for number, row in enumerate(rows):
        if len(row) != len(rows[0]):
            raise ValueError(
                f"{what} {number} has {len(row)} features but {what} 0 has {len(rows[0])}"
            )
    return np.vstack(rows).astype(np.float32)


# --- training channel ------------------------------------------------------------------------


def _csv_matrix(text: str) -> np.ndarray:
    """Parse numeric CSV; numpy's message names the offending row and column."""
    return np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=2)


def read_training_channel(
    blobs: Iterable[bytes], content_type: str
) -> tuple[np.ndarray, np.ndarray]:
    """Parse the train channel files into (features float32 (n, d), labels float32 (n,))."""
    mime, params = parse_media_type(content_type)
    if mime not in TRAINING_CONTENT_TYPES:
        raise DataError(
            f"unsupported train channel content type {content_type!r}"
            f" (expected {' or '.join(TRAINING_CONTENT_TYPES)})"
        )
    features: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for number, blob in enumerate(blobs):
        try:
            parsed = _training_csv(blob, params) if mime == CSV else _training_recordio(blob)
        except (ValueError, UnicodeDecodeError, LookupError) as error:
            raise DataError(f"train channel file {number}: {error}") from None
        if parsed is not None:
            features.append(parsed[0])
            labels.append(parsed[1])
    if not features:
        raise DataError("the train channel has no records")
    widths = {matrix.shape[1] for matrix in features}
    if len(widths) > 1:
        raise DataError(f"train channel files disagree on the feature count: {sorted(widths)}")
    return np.vstack(features), np.concatenate(labels)


def _training_csv(blob: bytes, params: dict[str, str]) -> tuple[np.ndarray, np.ndarray] | None:
    if params.get("label_size", "1") != "1":
        raise ValueError(
            f"k-NN training CSV needs label_size=1, the label in the first column"
            f" (got label_size={params['label_size']})"
        )
    text = blob.decode(params.get("charset", "utf-8"))
    if not text.strip():
        return None
    matrix = _csv_matrix(text)
    if matrix.shape[1] < 2:
        raise ValueError("each CSV row needs a label followed by at least one feature")
    if not np.isfinite(matrix).all():
        raise ValueError("CSV contains NaN or infinite values")
    return matrix[:, 1:].astype(np.float32), matrix[:, 0].astype(np.float32)


def _dense_recordio(blob: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """Fast path: records of one identical dense float32 layout, decoded as one numpy view.

    Every record must have the same header and the same bytes outside its numbers, which is
    checked for all of them; anything else falls back to record-by-record parsing.
    """
    if len(blob) < 8:
        return None
    magic, word = struct.unpack_from("<II", blob, 0)
    length = word & _LENGTH_MASK
    stride = 8 + length + (-length % 4)
    if magic != RECORDIO_MAGIC or word >> 29 or len(blob) % stride:
        return None
    columns = dense_columns(blob[8 : 8 + length])
    if columns is None:
        return None
    rows = np.frombuffer(blob, dtype=np.uint8).reshape(-1, stride)
    (f_start, f_end), (l_start, l_end) = ((8 + a, 8 + b) for a, b in columns)
    skeleton = np.ones(stride, dtype=bool)
    skeleton[f_start:f_end] = skeleton[l_start:l_end] = False
    if not (rows[:, skeleton] == rows[0, skeleton]).all():
        return None
    features = np.ascontiguousarray(rows[:, f_start:f_end]).view("<f4")
    labels = np.ascontiguousarray(rows[:, l_start:l_end]).view("<f4").ravel()
    return features.astype(np.float32), labels.astype(np.float32)


def _training_recordio(blob: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    dense = _dense_recordio(blob)
    if dense is not None:
        return dense
    features: list[np.ndarray] = []
    labels: list[float] = []
    for number, record in enumerate(_parse_records(blob)):
        if "values" not in record.features:
            raise ValueError(f"record {number} has no features['values']")
        if "values" not in record.label:
            raise ValueError(f"record {number} has no label['values']")
        row = _tensor_values(record.features["values"], None, f"record {number} features")
        label = _tensor_values(record.label["values"], None, f"record {number} label")
        if len(label) != 1:
            raise ValueError(f"record {number} label must hold 1 value (got {len(label)})")
        features.append(row)
        labels.append(float(label[0]))
    if not features:
        return None
    return _stack(features, "record"), np.asarray(labels, dtype=np.float32)


# --- inference requests ------------------------------------------------------------------


def decode_request(
    body: bytes,
    content_type: str,
    feature_dim: int | None = None,
    max_records: int | None = None,
) -> np.ndarray:
    """Decode an inference request into a float32 matrix (n, d), checking d == feature_dim and
    n <= max_records (TooManyRecords)."""
    mime, params = parse_media_type(content_type)
    if mime not in REQUEST_CONTENT_TYPES:
        raise InferenceError(
            f"unsupported content type {content_type!r}"
            f" (expected one of {', '.join(REQUEST_CONTENT_TYPES)})"
        )
    try:
        if mime == CSV:
            matrix = _request_csv(body, params, max_records)
        elif mime == RECORDIO:
            matrix = _dense_request(body, feature_dim, max_records)
            if matrix is None:
                matrix = _request_recordio(body, feature_dim, max_records)
        else:
            matrix = _request_json(body, mime, feature_dim, max_records)
    except (ValueError, UnicodeDecodeError, LookupError) as error:
        if isinstance(error, InferenceError):
            raise
        raise InferenceError(f"malformed {mime} request: {error}") from None
    if matrix is None or len(matrix) == 0:
        raise InferenceError(f"the {mime} request contains no records")
    if not np.isfinite(matrix).all():
        raise InferenceError("features must be finite numbers (found NaN or infinity)")
    if feature_dim is not None and matrix.shape[1] != feature_dim:
        raise InferenceError(
            f"expected {feature_dim} features per record (feature_dim), got {matrix.shape[1]}"
        )
    return matrix


def _request_csv(body: bytes, params: dict[str, str], max_records: int | None) -> np.ndarray | None:
    text = body.decode(params.get("charset", "utf-8"))
    if not text.strip():
        return None
    label_size = params.get("label_size", "0")
    if not label_size.isdigit():
        raise ValueError(f"label_size must be a non-negative integer (got {label_size!r})")
    if max_records is not None and text.strip().count("\n") >= max_records:
        raise TooManyRecords(max_records)
    matrix = _csv_matrix(text)[:, int(label_size) :]
    if matrix.shape[1] == 0:
        raise ValueError(f"no feature columns left after label_size={label_size}")
    return matrix.astype(np.float32)


def _dense_request(
    body: bytes, feature_dim: int | None, max_records: int | None
) -> np.ndarray | None:
    """Fast path: records that hold dense float32 features and nothing else, all laid out
    alike (what the SDK's ``RecordSerializer`` writes), decoded as one numpy view. Anything
    else — other tensors, other widths, a byte that differs outside the numbers — is None and
    goes through ``_request_recordio``, which also words the errors."""
    if len(body) < 8:
        return None
    magic, word = struct.unpack_from("<II", body, 0)
    length = word & _LENGTH_MASK
    stride = 8 + length + (-length % 4)
    if magic != RECORDIO_MAGIC or word >> 29 or len(body) % stride:
        return None
    span = dense_feature_span(body[8 : 8 + length])
    if span is None or (feature_dim is not None and span[1] - span[0] != 4 * feature_dim):
        return None
    rows = np.frombuffer(body, dtype=np.uint8).reshape(-1, stride)
    if max_records is not None and len(rows) > max_records:
        raise TooManyRecords(max_records)
    start, end = 8 + span[0], 8 + span[1]
    skeleton = np.ones(stride, dtype=bool)
    skeleton[start:end] = False
    if not (rows[:, skeleton] == rows[0, skeleton]).all():
        return None
    return np.ascontiguousarray(rows[:, start:end]).view("<f4").astype(np.float32)


def _request_recordio(
    body: bytes, feature_dim: int | None, max_records: int | None
) -> np.ndarray | None:
    rows = _Rows("record", max_records)
    # A record needs no more numbers than a dense vector has features (keys, values, shape).
    limit = feature_dim or MAX_FEATURES
    for number, record in enumerate(_parse_records(body, max_values=limit)):
        if "values" not in record.features:
            raise ValueError(f"record {number} has no features['values']")
        rows.add(
            _tensor_values(record.features["values"], feature_dim, f"record {number} features")
        )
    return rows.matrix()


def _instance_features(instance: Any, number: int, feature_dim: int | None) -> np.ndarray:
    """Features of one JSON instance, in either of the two documented shapes."""
    expected = 'expected {"features": [...]} or {"data": {"features": {"values": [...]}}}'
    if not isinstance(instance, dict):
        raise ValueError(f"instance {number} is not an object ({expected})")
    if "features" in instance:
        values, keys, shape = instance["features"], None, None
    elif isinstance(instance.get("data"), dict) and isinstance(
        instance["data"].get("features"), dict
    ):
        vector = instance["data"]["features"]
        values, keys, shape = vector.get("values"), vector.get("keys"), vector.get("shape")
    else:
        raise ValueError(f"instance {number} has no features ({expected})")
    where = f"instance {number}"
    if keys is None:
        return _json_numbers(values, f"{where} features")
    size = _sparse_size(shape, feature_dim, where)
    row = _json_numbers(values, f"{where} features")
    if not isinstance(keys, list) or not all(_is_int(key) for key in keys):
        raise ValueError(f"{where} keys must be a list of integers (got {keys!r:.80})")
    if len(keys) != len(row):
        raise ValueError(f"{where} has sparse keys that do not fit its shape {size}")
    return _densify(np.asarray(keys, dtype=np.int64), row, size, where)


def _json_numbers(values: Any, where: str) -> np.ndarray:
    numeric = isinstance(values, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )
    if not numeric or not values:
        raise ValueError(f"{where} must be a non-empty list of numbers (got {values!r:.80})")
    return np.asarray(values, dtype=np.float64)


# A JSON string; its closing quote is optional so that a match never fails and the scan stays
# linear (a failed match would be retried from every later quote).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_CHUNK = 1 << 20


def json_depth(text: bytes) -> int:
    """How deep arrays and objects nest in ``text``, counted without parsing it (json.loads
    recurses once per level, so a deep document would exhaust the stack)."""
    brackets = np.frombuffer(_JSON_STRING.sub(b"", text).translate(None, _NOT_BRACKETS), np.uint8)
    depth = deepest = 0
    for start in range(0, len(brackets), _DEPTH_CHUNK):
        chunk = brackets[start : start + _DEPTH_CHUNK]
        opening = (chunk == ord("[")) | (chunk == ord("{"))
        levels = depth + np.cumsum(opening.astype(np.int32) * 2 - 1)
        deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
    return deepest


def _request_json(
    body: bytes, mime: str, feature_dim: int | None, max_records: int | None
) -> np.ndarray | None:
    if json_depth(body) > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    text = body.decode("utf-8")
    rows = _Rows("instance", max_records)
    if mime == JSON:
        document = json.loads(text)
        if not isinstance(document, dict) or not isinstance(document.get("instances"), list):
            raise ValueError('expected an object {"instances": [...]}')
        instances: Iterable[Any] = document["instances"]
        if max_records is not None and len(document["instances"]) > max_records:
            raise TooManyRecords(max_records)
    else:  # one line at a time: the parsed lines are never all held at once
        instances = (json.loads(line) for line in io.StringIO(text) if line.strip())
    for number, instance in enumerate(instances):
        rows.add(_instance_features(instance, number, feature_dim))
    return rows.matrix()


# --- inference responses -----------------------------------------------------------------


def parse_accept(accept: str | None) -> tuple[str, bool]:
    """Pick the response type from an Accept header: (media type, verbose)."""
    for candidate in (accept or JSON).split(","):
        mime, params = parse_media_type(candidate)
        verbose = params.get("verbose", "false").lower() == "true"
        if mime in RESPONSE_CONTENT_TYPES:
            return mime, verbose
        if mime in ("", "*/*", "application/*"):
            return JSON, verbose
    raise InferenceError(
        f"unsupported accept type {accept!r}"
        f" (expected one of {', '.join(RESPONSE_CONTENT_TYPES)}, optionally '; verbose=true')"
    )


def _prediction_dicts(result: KnnResult, verbose: bool) -> list[dict[str, Any]]:
    labels = np.asarray(result.predicted_label, dtype=np.float64).tolist()
    if not verbose:
        return [{"predicted_label": label} for label in labels]
    if result.distances is None or result.labels is None:
        raise ValueError("a verbose response needs a result from predict(..., verbose=True)")
    out = []
    for label, distances, neighbours in zip(
        labels, result.distances.tolist(), result.labels.tolist(), strict=True
    ):
        # NaN marks a missing neighbour (IVF); JSON has no NaN, so the slot is dropped.
        out.append(
            {
                "predicted_label": label,
                "distances": [d for d in distances if not math.isnan(d)],
                "labels": [n for n in neighbours if not math.isnan(n)],
            }
        )
    return out


@functools.lru_cache(maxsize=64)  # asked on every request, with a few distinct arguments
def response_capacity(accept: str | None, neighbours: int) -> int:
    """The most predictions (each with ``neighbours`` neighbours when verbose) that one response
    of the Accept type can carry within ``MAX_PAYLOAD_BYTES``, at their shortest."""
    from mysfits_lab.recommender.knn import KnnResult

    def size(rows: int) -> int:
        zeros = np.zeros((rows, neighbours))
        result = KnnResult(np.zeros(rows), distances=zeros, labels=zeros)
        return len(_encode(result, accept))

    per_record = size(2) - size(1)
    return max(1, (MAX_PAYLOAD_BYTES - (size(1) - per_record)) // per_record)


def encode_response(result: KnnResult, accept: str | None) -> tuple[bytes, str]:
    """Serialise predictions for the Accept type; returns (body, content type). An answer over
    SageMaker's response limit is an InferenceError."""
    body = _encode(result, accept)
    if len(body) > MAX_PAYLOAD_BYTES:
        raise InferenceError(
            f"the predictions take {len(body)} bytes, over SageMaker's limit of"
            f" {MAX_PAYLOAD_BYTES} bytes for a response; send fewer records per request"
        )
    return body, parse_accept(accept)[0]


def _encode(result: KnnResult, accept: str | None) -> bytes:
    mime, verbose = parse_accept(accept)
    if not verbose:  # one number per record: written with numpy, not record by record
        labels = np.asarray(result.predicted_label, dtype=np.float64).reshape(-1)
        if mime == RECORDIO:
            return _fixed_label_records([("predicted_label", labels[:, None])])
        objects = _label_objects(labels)
        if mime == JSON:
            return ('{"predictions": [' + ", ".join(objects) + "]}").encode()
        return "".join(f"{line}\n" for line in objects).encode()
    if mime == RECORDIO and _complete(result):
        assert result.distances is not None and result.labels is not None
        return _fixed_label_records(
            [
                ("predicted_label", np.asarray(result.predicted_label).reshape(-1, 1)),
                ("distances", result.distances),
                ("labels", result.labels),
            ]
        )
    predictions = _prediction_dicts(result, verbose)
    if mime == JSON:
        return json.dumps({"predictions": predictions}).encode()
    if mime == JSONLINES:
        return "".join(json.dumps(p) + "\n" for p in predictions).encode()
    payloads = [
        serialize_label_record(
            {name: value if isinstance(value, list) else [value] for name, value in p.items()}
        )
        for p in predictions
    ]
    return frame_recordio(payloads)


def _label_objects(labels: np.ndarray) -> list[str]:
    """``{"predicted_label": 3.0}`` for each label, exactly as ``json.dumps`` writes it; each
    distinct value is written once (a classifier has a dozen)."""
    values, inverse = np.unique(labels, return_inverse=True)
    texts = np.array([json.dumps({"predicted_label": float(v)}) for v in values], dtype=object)
    return texts[inverse.reshape(-1)].tolist()


def _complete(result: KnnResult) -> bool:
    """Every record has all its neighbours (none missing), so all records are the same size."""
    return (
        result.distances is not None
        and result.labels is not None
        and not np.isnan(result.distances).any()
        and not np.isnan(result.labels).any()
    )


def _fixed_label_records(columns: list[tuple[str, np.ndarray]]) -> bytes:
    """RecordIO records of label tensors of one size each ((n, size) arrays): byte for byte
    what ``serialize_label_record`` and ``frame_recordio`` write, built as one array."""
    count = len(columns[0][1])
    if count == 0:
        return b""
    template, starts = label_record_layout([(name, values.shape[1]) for name, values in columns])
    length = len(template)
    frame = np.zeros(8 + length + (-length % 4), dtype=np.uint8)
    frame[:8] = np.frombuffer(struct.pack("<II", RECORDIO_MAGIC, length), dtype=np.uint8)
    frame[8 : 8 + length] = np.frombuffer(template, dtype=np.uint8)
    out = np.tile(frame, (count, 1))
    for (_name, values), start in zip(columns, starts, strict=True):
        floats = np.ascontiguousarray(values, dtype="<f4").view(np.uint8).reshape(count, -1)
        out[:, 8 + start : 8 + start + floats.shape[1]] = floats
    return out.tobytes()
