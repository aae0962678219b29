"""``Transform: AWS::Serverless-2016-10-31`` expanded by AWS's own SAM translator
(aws-sam-translator), with the AWS managed policies this cloud's IAM lists, before the
template is deployed like any other."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from ...constants import ACCOUNT_ID, DUMMY_CREDENTIALS
from .errors import TemplateError

SAM = "AWS::Serverless-2016-10-31"
# The translator keeps the region of its boto3 session in a class attribute: one at a time.
_lock = threading.Lock()


def expand(
    template: dict[str, Any],
    parameters: dict[str, Any],
    region: str,
    stack_name: str,
    managed_policies: Callable[[], dict[str, str]],
) -> dict[str, Any]:
    """The template with its SAM resources replaced by CloudFormation ones; TemplateError
    with AWS's message when the translator refuses the document."""
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException, InvalidTemplateException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    values = {
        **parameters,
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::StackName": stack_name,
        "AWS::URLSuffix": "amazonaws.com",
    }
    document = copy.deepcopy(template)
    with _lock:
        session = boto3.Session(region_name=region, **DUMMY_CREDENTIALS)
        translator = Translator(None, Parser(), boto_session=session)
        try:
            to_py27_compatible_template(document, values)
            expanded = translator.translate(
                document, parameter_values=values, get_managed_policy_map=managed_policies
            )
        except (InvalidDocumentException, InvalidTemplateException) as exc:
            causes = [c.message for c in getattr(exc, "causes", [])]
            message = " ".join([exc.message, *causes])
            raise TemplateError(f"Transform {SAM} failed with: {message}") from None
        except Exception as exc:  # noqa: BLE001 - whatever the translator trips on is the template's
            raise TemplateError(
                f"Transform {SAM} failed with: Invalid Serverless Application Specification "
                f"document ({type(exc).__name__}: {exc})"
            ) from None
        finally:
            translator.metrics.publish()  # they go nowhere; unpublished ones are logged
    return undo_mark_unicode_str_in_template(expanded)


class ManagedPolicies:
    """name → ARN of the AWS managed policies, read once from the cloud's IAM (moto lists
    them: the cloud loads them at start)."""

    def __init__(self, iam: Callable[[], Any]):
        self._iam = iam
        self._map: dict[str, str] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, str]:
        with self._lock:
            if self._map is None:
                from samtranslator.translator.managed_policy_translator import (
                    ManagedPolicyLoader,
                )

                self._map = ManagedPolicyLoader(self._iam()).load()
            return self._map
