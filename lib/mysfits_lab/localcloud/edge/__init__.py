"""The edge of the local cloud: service resolution, protocols, CORS, routing (see ``app.py``)."""

from .app import Call, ControlRule, Edge, MotoFailed, Route
from .protocols import ServiceError
from .request import AwsRequest

__all__ = ["AwsRequest", "Call", "ControlRule", "Edge", "MotoFailed", "Route", "ServiceError"]
