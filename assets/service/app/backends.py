"""Storage backends for the Mysfits service.

Both backends speak the API's field names (mysfitId, name, ..., likes, adopted) and raise the
domain errors below; the HTTP layer turns those into 404 / 409 / 503.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

# Query filter name -> (API field, allowed values). The filter names are the workshop's.
FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "GoodEvil": ("goodevil", ("Good", "Neutral", "Evil")),
    "LawChaos": ("lawchaos", ("Lawful", "Neutral", "Chaotic")),
}

# API field -> DynamoDB attribute, in the order the API returns them.
FIELDS: dict[str, str] = {
    "mysfitId": "MysfitId",
    "name": "Name",
    "species": "Species",
    "description": "Description",
    "age": "Age",
    "goodevil": "GoodEvil",
    "lawchaos": "LawChaos",
    "thumbImageUri": "ThumbImageUri",
    "profileImageUri": "ProfileImageUri",
    "likes": "Likes",
    "adopted": "Adopted",
}

Mysfit = dict[str, Any]

# DynamoDB refuses a partition key longer than this (UTF-8 bytes) with a ValidationException;
# no mysfit can have such an id, so the answer is 404, not an error.
MAX_KEY_BYTES = 2048

# DynamoDB error code -> (reason, message for the caller, Retry-After seconds or None).
_THROTTLED = (
    "throttled",
    "DynamoDB is throttling requests to the mysfits table; try again in a moment.",
    1,
)
_DENIED = (
    "access_denied",
    "The service may not read the mysfits table: check the DynamoDB permissions of its task "
    "role and its credentials.",
    None,
)
_UNAVAILABLE = ("unavailable", "DynamoDB is unavailable; try again in a moment.", 5)
_CLIENT_ERRORS: dict[str, tuple[str, str, int | None]] = {
    "ProvisionedThroughputExceededException": _THROTTLED,
    "ThrottlingException": _THROTTLED,
    "RequestLimitExceeded": _THROTTLED,
    "AccessDeniedException": _DENIED,
    "UnrecognizedClientException": _DENIED,
    "InvalidSignatureException": _DENIED,
    "ExpiredTokenException": _DENIED,
    "InternalServerError": _UNAVAILABLE,
    "ServiceUnavailable": _UNAVAILABLE,
}


class MysfitNotFound(LookupError):
    """No mysfit has the requested id."""

    def __init__(self, mysfit_id: str) -> None:
        super().__init__(f"No mysfit with id {mysfit_id!r}")
        self.mysfit_id = mysfit_id


class AlreadyAdopted(RuntimeError):
    """The mysfit has found a home already."""

    def __init__(self, mysfit_id: str) -> None:
        super().__init__(f"Mysfit {mysfit_id!r} has already been adopted")
        self.mysfit_id = mysfit_id


class BackendUnavailable(RuntimeError):
    """The store could not answer: the request was fine, so the caller may retry (HTTP 503).

    `str(error)` is safe to show a caller; `detail` (the store's own words, which may name
    accounts and roles) is for the service log only.
    """

    def __init__(
        self, reason: str, message: str, detail: str, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after


class Backend(Protocol):
    def list_mysfits(
        self, filter_name: str | None = None, value: str | None = None
    ) -> list[Mysfit]:
        """All mysfits, or those whose `filter_name` field equals `value`."""
        ...

    def get_mysfit(self, mysfit_id: str) -> Mysfit: ...

    def like(self, mysfit_id: str) -> int:
        """Add one like and return the new total."""
        ...

    def adopt(self, mysfit_id: str) -> None: ...


def normalise(record: Mapping[str, Any]) -> Mysfit:
    """Put an API-shaped record in field order with real numbers and booleans."""
    out: Mysfit = {}
    for field in FIELDS:
        if field in record:
            out[field] = record[field]
    if out.get("age") is not None:
        out["age"] = int(out["age"])
    out["likes"] = int(out.get("likes") or 0)
    out["adopted"] = _as_bool(out.get("adopted", False))
    return out


def _as_bool(value: Any) -> bool:
    # Hand-edited catalogues may say "true"/"false"; bool("false") would be True.
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


class CatalogueBackend:
    """Mysfits from a JSON file shaped like `{"mysfits": [...]}`; likes/adoptions in memory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        document = json.loads(self.path.read_text(encoding="utf-8"))
        records = document.get("mysfits") if isinstance(document, dict) else None
        if not isinstance(records, list):
            raise ValueError(f"{self.path}: expected an object with a 'mysfits' list")
        self._items: dict[str, Mysfit] = {}
        for record in records:
            if not isinstance(record, dict) or not record.get("mysfitId"):
                raise ValueError(f"{self.path}: every mysfit needs a mysfitId")
            item = normalise(record)
            self._items[item["mysfitId"]] = item
        # waitress serves requests on several threads.
        self._lock = threading.Lock()

    def list_mysfits(
        self, filter_name: str | None = None, value: str | None = None
    ) -> list[Mysfit]:
        field = FILTERS[filter_name][0] if filter_name else None
        with self._lock:
            return [
                copy.deepcopy(item)
                for item in self._items.values()
                if field is None or item.get(field) == value
            ]

    def get_mysfit(self, mysfit_id: str) -> Mysfit:
        with self._lock:
            return copy.deepcopy(self._find(mysfit_id))

    def like(self, mysfit_id: str) -> int:
        with self._lock:
            item = self._find(mysfit_id)
            item["likes"] += 1
            return item["likes"]

    def adopt(self, mysfit_id: str) -> None:
        with self._lock:
            item = self._find(mysfit_id)
            if item["adopted"]:
                raise AlreadyAdopted(mysfit_id)
            item["adopted"] = True

    def _find(self, mysfit_id: str) -> Mysfit:
        try:
            return self._items[mysfit_id]
        except KeyError:
            raise MysfitNotFound(mysfit_id) from None


class DynamoDBBackend:
    """Mysfits in the module-3 table (key MysfitId, GSIs GoodEvilIndex / LawChaosIndex)."""

    def __init__(
        self, table_name: str, client: Any | None = None, page_size: int | None = None
    ) -> None:
        if client is None:
            import boto3  # only this backend needs it; the catalogue image path stays light

            client = boto3.client("dynamodb")
        self.table_name = table_name
        self.client = client
        # Scan/Query return at most 1 MB per call; the paginator follows LastEvaluatedKey.
        self._paging = {"PageSize": page_size} if page_size else {}

    def list_mysfits(
        self, filter_name: str | None = None, value: str | None = None
    ) -> list[Mysfit]:
        # All mysfits: a Scan. One alignment: a Query on that alignment's index, which reads
        # only the matching items (a Scan with a filter would read, and bill, the whole table).
        if filter_name is None:
            pages = self.client.get_paginator("scan").paginate(
                TableName=self.table_name, PaginationConfig=self._paging
            )
        else:
            pages = self.client.get_paginator("query").paginate(
                TableName=self.table_name,
                IndexName=f"{filter_name}Index",
                KeyConditionExpression="#f = :v",
                ExpressionAttributeNames={"#f": filter_name},
                ExpressionAttributeValues={":v": {"S": value or ""}},
                PaginationConfig=self._paging,
            )
        # Pages are fetched while iterating, so errors surface here.
        with self._answering():
            return [from_item(item) for item in _items(pages)]

    def get_mysfit(self, mysfit_id: str) -> Mysfit:
        _check_id(mysfit_id)
        with self._answering():
            response = self.client.get_item(TableName=self.table_name, Key=_key(mysfit_id))
        if "Item" not in response:
            raise MysfitNotFound(mysfit_id)
        return from_item(response["Item"])

    def like(self, mysfit_id: str) -> int:
        _check_id(mysfit_id)
        with self._answering():
            try:
                response = self.client.update_item(
                    TableName=self.table_name,
                    Key=_key(mysfit_id),
                    UpdateExpression="ADD Likes :one",
                    # Without the condition UpdateItem would upsert a stub item for an unknown id.
                    ConditionExpression="attribute_exists(MysfitId)",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                    ReturnValues="UPDATED_NEW",
                )
            except self.client.exceptions.ConditionalCheckFailedException:
                raise MysfitNotFound(mysfit_id) from None
        return int(response["Attributes"]["Likes"]["N"])

    def adopt(self, mysfit_id: str) -> None:
        _check_id(mysfit_id)
        with self._answering():
            try:
                self.client.update_item(
                    TableName=self.table_name,
                    Key=_key(mysfit_id),
                    UpdateExpression="SET Adopted = :t",
                    ConditionExpression=(
                        "attribute_exists(MysfitId) "
                        "AND (attribute_not_exists(Adopted) OR Adopted = :f)"
                    ),
                    ExpressionAttributeValues={":t": {"BOOL": True}, ":f": {"BOOL": False}},
                )
            except self.client.exceptions.ConditionalCheckFailedException:
                # One condition covers two failures; a read tells them apart.
                self.get_mysfit(mysfit_id)  # raises MysfitNotFound for an unknown id
                raise AlreadyAdopted(mysfit_id) from None

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """Turn the SDK's errors into `BackendUnavailable`: a 503 with a clear message."""
        from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
        from botocore.exceptions import ConnectionError as SdkConnectionError

        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            detail = f"{exc.operation_name}: {code}: {error.get('Message', '')}"
            if code == "ResourceNotFoundException":
                raise BackendUnavailable(
                    "table_missing",
                    f"The mysfits table {self.table_name!r} does not exist: create it "
                    "(module 03-data) or fix the table name in the service's settings.",
                    detail,
                ) from exc
            reason, message, retry_after = _CLIENT_ERRORS.get(
                code,
                ("dynamodb_error", f"DynamoDB could not answer ({code or 'no code'}).", None),
            )
            raise BackendUnavailable(reason, message, detail, retry_after) from exc
        except NoCredentialsError as exc:
            raise BackendUnavailable(
                "access_denied", "The service has no AWS credentials to read DynamoDB.", str(exc)
            ) from exc
        # No connection, a timeout, a dropped connection. Other SDK errors (invalid
        # parameters) are the service's own bugs: they stay 500s.
        except (SdkConnectionError, HTTPClientError) as exc:
            raise BackendUnavailable(
                "unreachable",
                "The service cannot reach DynamoDB; try again in a moment.",
                str(exc),
                5,
            ) from exc


def from_item(item: Mapping[str, Mapping[str, Any]]) -> Mysfit:
    """Convert a DynamoDB item (attribute-value form) to an API record."""
    record: Mysfit = {}
    for field, attribute in FIELDS.items():
        if attribute in item:
            record[field] = _plain(item[attribute])
    return normalise(record)


def _plain(value: Mapping[str, Any]) -> Any:
    ((kind, raw),) = value.items()
    if kind == "N":
        # Decimal, not float: a float would round ids-sized integers (above 2**53).
        number = Decimal(raw)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "NULL":
        return None
    return raw


def _check_id(mysfit_id: str) -> None:
    if len(mysfit_id.encode("utf-8")) > MAX_KEY_BYTES:
        raise MysfitNotFound(mysfit_id)


def _key(mysfit_id: str) -> dict[str, dict[str, str]]:
    return {"MysfitId": {"S": mysfit_id}}


def _items(pages: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for page in pages:
        yield from page.get("Items", [])
