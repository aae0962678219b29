from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.codepipeline.definition import (
    PipelineSpec,
    environment_variables,
    problem,
    with_defaults,
)

from .pipelines import action, workshop


def test_the_workshop_pipeline_is_valid_and_read_as_declared():
    declaration = workshop()
    assert problem(declaration) is None
    spec = PipelineSpec.of(declaration | {"version": 3}, "us-east-1")
    assert (spec.name, spec.version, spec.mode) == ("web-pipeline", 3, "SUPERSEDED")
    assert [s.name for s in spec.stages] == ["Source", "Build", "Deploy"]
    assert spec.store() == "artifacts" and spec.store("eu-west-1") == "artifacts"
    [watch] = spec.s3_watches()
    assert (watch.action, watch.bucket, watch.key, watch.polls) == (
        "Source",
        "src",
        "app.zip",
        True,
    )
    build = spec.stages[1].actions[0]
    assert (build.inputs, build.outputs) == (("SourceArtifact",), ("BuildArtifact",))
    assert build.entity_url("us-east-1").endswith("#/projects/build/view")


def test_poll_for_source_changes_false_is_an_event_driven_source():
    declaration = workshop()
    declaration["stages"][0]["actions"][0]["configuration"]["PollForSourceChanges"] = "false"
    [watch] = PipelineSpec.of(declaration, "us-east-1").s3_watches()
    assert watch.polls is False


def test_per_region_artifact_stores():
    declaration = workshop()
    del declaration["artifactStore"]
    declaration["artifactStores"] = {
        "us-east-1": {"type": "S3", "location": "east"},
        "eu-west-1": {"type": "S3", "location": "west"},
    }
    spec = PipelineSpec.of(declaration, "us-east-1")
    assert (spec.store(), spec.store("eu-west-1")) == ("east", "west")


def test_actions_run_by_run_order():
    declaration = workshop()
    declaration["stages"][1]["actions"] += [
        action(
            "Test",
            ("Test", "CodeBuild"),
            {"ProjectName": "t"},
            runOrder=2,
            inputArtifacts=[{"name": "BuildArtifact"}],
        ),
        action(
            "Lint",
            ("Test", "CodeBuild"),
            {"ProjectName": "l"},
            inputArtifacts=[{"name": "SourceArtifact"}],
        ),
    ]
    assert problem(declaration) is None
    groups = PipelineSpec.of(declaration, "us-east-1").stages[1].groups()
    assert [[a.name for a in g] for g in groups] == [["Build", "Lint"], ["Test"]]


def _broken(path: tuple, value: object) -> dict:
    declaration = workshop()
    target = declaration
    for step in path[:-1]:
        target = target[step]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return declaration


@pytest.mark.parametrize(
    ("path", "value", "code", "words"),
    [
        (("artifactStore",), None, "InvalidStructureException", "artifactStore"),
        (
            ("stages", 0, "actions", 0, "configuration", "S3ObjectKey"),
            None,
            "InvalidActionDeclarationException",
            "missing required configuration 'S3ObjectKey'",
        ),
        (
            ("stages", 2, "actions", 0, "inputArtifacts"),
            [{"name": "Nope"}],
            "InvalidStructureException",
            "Input Artifact Bundle Nope in action 'Deploy'",
        ),
        (
            ("stages", 1, "actions", 0, "outputArtifacts"),
            [{"name": "SourceArtifact"}],
            "InvalidStructureException",
            "must be unique: SourceArtifact",
        ),
        (
            ("stages", 2, "actions", 0, "inputArtifacts"),
            [{"name": "SourceArtifact"}, {"name": "BuildArtifact"}],
            "InvalidActionDeclarationException",
            "takes 1 input artifact(s), not 2",
        ),
        (
            ("stages", 1, "actions", 0, "configuration", "EnvironmentVariables"),
            "[{oops",
            "InvalidActionDeclarationException",
            "not valid JSON",
        ),
        (("stages", 1, "actions"), [], "InvalidStageDeclarationException", "Build has no actions"),
        (("executionMode",), "QUEUED", "ValidationException", "requires pipeline type V2"),
    ],
)
def test_what_aws_refuses_is_refused_with_its_error(path, value, code, words):
    found = problem(_broken(path, value))
    assert found is not None and found[0] == code and words in found[1], found


def test_sources_belong_in_the_first_stage_only():
    declaration = workshop()
    stages = declaration["stages"]
    stages[0], stages[1] = stages[1], stages[0]
    code, message = problem(declaration)
    assert code == "InvalidStructureException"
    assert "first stage (Build) may only contain source actions" in message


def test_queued_mode_with_a_v2_pipeline_is_valid_and_defaults_are_reported():
    assert problem(workshop(executionMode="QUEUED", pipelineType="V2")) is None
    assert with_defaults({"name": "p"}) == {
        "name": "p",
        "executionMode": "SUPERSEDED",
        "pipelineType": "V1",
    }
    assert with_defaults({"executionMode": "QUEUED", "pipelineType": "V2"})["pipelineType"] == "V2"


def test_codebuild_environment_variables():
    config = {
        "EnvironmentVariables": '[{"name": "STAGE", "value": "prod"}, {"name": "N", "value": 1}]'
    }
    assert environment_variables(config) == [
        {"name": "STAGE", "value": "prod", "type": "PLAINTEXT"},
        {"name": "N", "value": "1", "type": "PLAINTEXT"},
    ]
    assert environment_variables({}) == []
    with pytest.raises(ValueError, match="expected a list"):
        environment_variables({"EnvironmentVariables": '{"name": "X"}'})
