"""The CodeBuild API on a fresh local cloud: project updates, retries, unknown builds and
malformed requests answered as CodeBuild answers them."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mysfits_lab.localcloud import control
from mysfits_lab.localcloud.constants import DUMMY_CREDENTIALS
from tests.integration.localcloud.codebuild_projects import build_log, finished, project, run

MISSING = "nope:00000000-0000-0000-0000-000000000000"


def test_batch_get_builds_reports_unknown_builds(lab):
    found = lab.client("codebuild").batch_get_builds(ids=[MISSING])
    assert (found["builds"], found["buildsNotFound"]) == ([], [MISSING])


@pytest.mark.parametrize(
    ("operation", "params", "code"),
    [
        ("batch_get_builds", {"ids": ["no-colon"]}, "InvalidInputException"),
        ("start_build", {"projectName": "nope"}, "ResourceNotFoundException"),
        ("start_build", {"projectName": "x", "sourceTypeOverride": "FTP"}, "InvalidInputException"),
        ("stop_build", {"id": MISSING}, "ResourceNotFoundException"),
        ("retry_build", {"id": MISSING}, "ResourceNotFoundException"),
        ("list_builds_for_project", {"projectName": "nope"}, "ResourceNotFoundException"),
        ("update_project", {"name": "nope"}, "ResourceNotFoundException"),
    ],
)
def test_unknown_builds_and_bad_input_are_client_errors(lab, operation, params, code):
    with pytest.raises(ClientError) as failure:
        getattr(lab.client("codebuild"), operation)(**params)
    assert failure.value.response["Error"]["Code"] == code


def test_update_and_retry_run_the_new_settings_and_the_same_overrides(lab):
    buildspec = 'version: 0.2\nphases:\n  build:\n    commands:\n      - echo "got=$A,$B"\n'
    name = project(
        lab, "updated", {"buildspec.yml": buildspec}, artifacts=False, variables={"A": "old"}
    )
    codebuild = lab.client("codebuild")
    environment = codebuild.batch_get_projects(names=[name])["projects"][0]["environment"]
    environment["environmentVariables"] = [{"name": "A", "value": "new", "type": "PLAINTEXT"}]
    updated = codebuild.update_project(name=name, environment=environment, timeoutInMinutes=9)
    assert updated["project"]["timeoutInMinutes"] == 9
    override = [{"name": "B", "value": "override", "type": "PLAINTEXT"}]
    first = run(lab, name, environmentVariablesOverride=override)
    assert first["timeoutInMinutes"] == 9
    assert "got=new,override" in build_log(lab, first)

    retried = codebuild.retry_build(id=first["id"])["build"]
    assert retried["id"] != first["id"]
    again = finished(lab, retried["id"])
    assert again["buildNumber"] == first["buildNumber"] + 1
    assert "got=new,override" in build_log(lab, again)


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("start_build", {}),
        ("start_build", {"projectName": 5}),
        ("batch_get_builds", {"ids": [1]}),
        ("list_builds_for_project", {}),
        ("stop_build", {"id": []}),
        ("update_project", {"name": {"x": 1}}),
    ],
)
def test_malformed_requests_are_invalid_input_not_server_errors(cloud, operation, params):
    codebuild = boto3.client(
        "codebuild",
        endpoint_url=control.status().edge_url,
        region_name="us-east-1",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
        **DUMMY_CREDENTIALS,
    )
    with pytest.raises(ClientError) as failure:
        getattr(codebuild, operation)(**params)
    assert failure.value.response["Error"]["Code"] == "InvalidInputException"
    assert failure.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
