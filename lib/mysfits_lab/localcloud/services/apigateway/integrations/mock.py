"""``MOCK``: API Gateway answers itself. The request template (for the request's content type,
application/json without one) names the status — ``{"statusCode": 200}`` — which selects the
integration response; its response parameters set headers (``'literal'`` values) and its
response template is the body. The workshop's CORS preflights are such methods."""

from __future__ import annotations

from ..answers import Answer
from .base import Backends, Invocation
from .selection import method_answer, select
from .templates import choose, mock_status


def invoke(invocation: Invocation, _backends: Backends) -> Answer:
    integration = invocation.integration
    chosen = choose(integration.request_templates, invocation.content_type)
    status = mock_status(chosen[1] if chosen else None, invocation)
    return method_answer(select(integration, str(status)), invocation)
