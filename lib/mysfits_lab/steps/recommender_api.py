"""Module 7, part 2: the recommender for the site — ``POST /recommendations`` → a Lambda
function → the k-NN endpoint of part 1.

Same calls on both targets. The function (``assets/functions/recommendations``) checks the five
answers, asks the endpoint, and maps its label to a mysfit through the catalogue in label order,
packaged with it as ``labels.json``. The API is a fourth REST API with an ``AWS_PROXY``
integration and the CORS preflight for the site, whose "Recommend a Mysfit" page appears once
``recommendations.url`` is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from ..lab import Lab, LabError
from . import functions, iam, recommendations, rest_apis, website
from .checks import Checklist

MODULE = "07-recommendations"
API = "RecommendationsApi"
FUNCTION = "MysfitsRecommendationsFunction"


@dataclass(frozen=True)
class Names:
    api: str
    function: str
    function_role: str
    api_role: str

    @classmethod
    def of(cls, lab: Lab) -> Names:
        return cls(
            api=lab.name(API),
            function=lab.name(FUNCTION),
            function_role=lab.name("RecommendationsFunctionRole"),
            api_role=lab.name("RecommendationsApiRole"),
        )


def labels_file() -> bytes:
    """The catalogue in the model's label order: label n is the n-th mysfit."""
    labels = [{"mysfitId": m["mysfitId"], "name": m["name"]} for m in recommendations.catalogue()]
    return json.dumps(labels, indent=1).encode()


def deploy_function(lab: Lab) -> dict[str, Any]:
    names = Names.of(lab)
    endpoint = recommendations.endpoint_name(lab)
    endpoint_arn = f"arn:aws:sagemaker:{lab.region}:{lab.account}:endpoint/{endpoint}"
    role = functions.execution_role(
        lab,
        names.function_role,
        [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": endpoint_arn}],
    )
    spec = functions.FunctionSpec(
        name=names.function,
        folder="recommendations",
        handler="recommend.recommend",
        role_arn=role,
        environment={"ENDPOINT_NAME": endpoint, "ALLOWED_ORIGIN": rest_apis.site_origin(lab)},
        extra_files=(("labels.json", labels_file()),),
    )
    return functions.deploy(lab, spec)


def openapi_document(lab: Lab, function_arn: str) -> dict[str, Any]:
    post = rest_apis.lambda_proxy(
        lab, Names.of(lab).api_role, function_arn, "Recommend a mysfit for five answers"
    )
    return rest_apis.document(
        lab,
        Names.of(lab).api,
        "The Mythical Mysfits recommender: five answers, one mysfit.",
        {"/recommendations": {"post": post}},
    )


def create_api(lab: Lab, function_arn: str) -> dict[str, Any]:
    document = openapi_document(lab, function_arn)
    api = rest_apis.import_api(lab, Names.of(lab).api, document)
    deployment = rest_apis.deploy(lab, api["id"], document)
    return {"id": api["id"], "url": rest_apis.stage_url(lab, api["id"]), **deployment}


def record(lab: Lab, api: dict[str, Any]) -> dict[str, Any]:
    recorded = lab.outputs.record(
        MODULE,
        {
            "recommendations.url": api["url"],
            "recommendations.api_id": api["id"],
            "recommendations.function": Names.of(lab).function,
        },
    )
    if website.is_built(lab):  # the site now offers "Recommend a Mysfit"
        website.publish_config(lab)
    return recorded


def build(lab: Lab) -> dict[str, Any]:
    function = deploy_function(lab)
    return record(lab, create_api(lab, function["FunctionArn"]))


def ask(lab: Lab, entry: Any) -> requests.Response:
    """What the site's questionnaire sends."""
    return requests.post(
        f"{lab.outputs.get('recommendations.url')}/recommendations",
        json={"entry": entry},
        timeout=60,
    )


def asker(lab: Lab) -> Callable[[list[int]], dict[str, Any]]:
    """Five answers → the recommended mysfit's catalogue entry, through the API (what the
    notebook's questionnaire uses instead of the endpoint)."""

    def ask_api(answers: list[int]) -> dict[str, Any]:
        response = ask(lab, answers)
        if response.status_code != 200:
            raise LabError(
                f"POST /recommendations answered {response.status_code}: {response.text}"
            )
        chosen = response.json()["recommendedMysfit"]
        catalogue = recommendations.catalogue()
        label = next(i for i, m in enumerate(catalogue) if m["mysfitId"] == chosen)
        return catalogue[label] | {"label": label}

    return ask_api


def check(lab: Lab, predictor: Any) -> Checklist:
    """The API's answers against the endpoint's own, and its refusals."""
    rows = []
    agree = True
    for entry in ([1, 1, 1, 1, 1], [8, 8, 8, 8, 8], [3, 5, 2, 7, 4]):
        got = ask(lab, entry)
        expected = recommendations.recommend(predictor, entry)
        agree &= got.status_code == 200 and got.json()["recommendedMysfit"] == expected["mysfitId"]
    rows.append({"what": "three questionnaires: the endpoint's mysfit", "as expected": agree})
    for what, entry in (
        ("four answers", [1, 2, 3, 4]),
        ("an answer of 9", [1, 2, 3, 4, 9]),
        ("an answer of 2.5", [1, 2, 3, 4, 2.5]),
    ):
        refused = ask(lab, entry)
        rows.append(
            {
                "what": f"{what}: 400 with the rule",
                "as expected": refused.status_code == 400 and "message" in refused.json(),
            }
        )
    return Checklist(
        rows,
        "OK: the API recommends the same mysfit as the endpoint and refuses answers that "
        "break the rules with 400.",
    )


def teardown(lab: Lab) -> list[str]:
    names = Names.of(lab)
    removed = rest_apis.delete_api(lab, names.api)
    removed += functions.delete(lab, names.function)
    for role in (names.api_role, names.function_role):
        removed += iam.delete_role(lab, role)
    lab.outputs.forget("recommendations.url", "recommendations.api_id", "recommendations.function")
    if website.is_built(lab):
        website.publish_config(lab)
    return removed
