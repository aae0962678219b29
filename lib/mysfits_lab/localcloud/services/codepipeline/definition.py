"""A pipeline declaration as the engine reads it, and the structure checks CreatePipeline and
UpdatePipeline make before moto records it (moto checks little more than the stage count).
Pure: no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

S3_SOURCE = ("Source", "AWS", "S3")
CODEBUILD = (("Build", "AWS", "CodeBuild"), ("Test", "AWS", "CodeBuild"))
ECS_DEPLOY = ("Deploy", "AWS", "ECS")
DEFAULT_IMAGE_FILE = "imagedefinitions.json"
EXECUTION_MODES = ("SUPERSEDED", "QUEUED", "PARALLEL")

# Configuration AWS requires, and the artifact counts it allows: (inputs, outputs) as ranges.
_REQUIRED = {
    S3_SOURCE: ("S3Bucket", "S3ObjectKey"),
    CODEBUILD[0]: ("ProjectName",),
    CODEBUILD[1]: ("ProjectName",),
    ECS_DEPLOY: ("ClusterName", "ServiceName"),
}
_ARTIFACTS = {
    S3_SOURCE: ((0, 0), (1, 1)),
    CODEBUILD[0]: ((1, 5), (0, 5)),
    CODEBUILD[1]: ((1, 5), (0, 5)),
    ECS_DEPLOY: ((1, 1), (0, 0)),
}


def truthy(value: Any) -> bool:
    return str(value).strip().lower() == "true"


@dataclass(frozen=True)
class ActionSpec:
    name: str
    category: str
    owner: str
    provider: str
    version: str
    run_order: int
    configuration: dict[str, str]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    role_arn: str | None
    region: str | None

    @classmethod
    def of(cls, action: dict[str, Any]) -> ActionSpec:
        kind = action.get("actionTypeId") or {}
        return cls(
            name=action["name"],
            category=kind.get("category", ""),
            owner=kind.get("owner", ""),
            provider=kind.get("provider", ""),
            version=kind.get("version", ""),
            run_order=int(action.get("runOrder") or 1),
            configuration=dict(action.get("configuration") or {}),
            inputs=tuple(a["name"] for a in action.get("inputArtifacts") or []),
            outputs=tuple(a["name"] for a in action.get("outputArtifacts") or []),
            role_arn=action.get("roleArn"),
            region=action.get("region"),
        )

    @property
    def kind(self) -> tuple[str, str, str]:
        return (self.category, self.owner, self.provider)

    def type_id(self) -> dict[str, str]:
        return {
            "category": self.category,
            "owner": self.owner,
            "provider": self.provider,
            "version": self.version,
        }

    def entity_url(self, region: str) -> str | None:
        """The console page of what the action works on (GetPipelineState's ``entityUrl``)."""
        config, console = self.configuration, "https://console.aws.amazon.com"
        if self.kind == S3_SOURCE:
            return f"{console}/s3/home?region={region}#/buckets/{config.get('S3Bucket')}"
        if self.kind in CODEBUILD:
            project = config.get("ProjectName")
            return f"{console}/codebuild/home?region={region}#/projects/{project}/view"
        if self.kind == ECS_DEPLOY:
            return (
                f"{console}/ecs/home?region={region}#/clusters/{config.get('ClusterName')}"
                f"/services/{config.get('ServiceName')}/details"
            )
        return None


@dataclass(frozen=True)
class StageSpec:
    name: str
    actions: tuple[ActionSpec, ...]

    def groups(self) -> list[list[ActionSpec]]:
        """The actions by runOrder: each group runs in parallel, the groups one after another."""
        orders = sorted({a.run_order for a in self.actions})
        return [[a for a in self.actions if a.run_order == order] for order in orders]


@dataclass(frozen=True)
class S3Watch:
    """An S3 source action: a new version of ``bucket/key`` starts the pipeline when it polls
    (``PollForSourceChanges``, true unless set false) or an EventBridge rule targets it."""

    action: str
    bucket: str
    key: str
    polls: bool


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    region: str
    version: int
    role_arn: str
    stores: dict[str, str]  # region ("" for the pipeline's own) -> artifact bucket
    mode: str
    stages: tuple[StageSpec, ...]

    @classmethod
    def of(cls, declaration: dict[str, Any], region: str) -> PipelineSpec:
        stores = {
            r: s.get("location", "") for r, s in (declaration.get("artifactStores") or {}).items()
        }
        if declaration.get("artifactStore"):
            stores[""] = declaration["artifactStore"].get("location", "")
        return cls(
            name=declaration["name"],
            region=region,
            version=int(declaration.get("version") or 1),
            role_arn=declaration.get("roleArn", ""),
            stores=stores,
            mode=declaration.get("executionMode") or "SUPERSEDED",
            stages=tuple(
                StageSpec(s["name"], tuple(ActionSpec.of(a) for a in s.get("actions") or []))
                for s in declaration.get("stages") or []
            ),
        )

    def store(self, region: str | None = None) -> str:
        """The artifact bucket for actions in ``region`` (the pipeline's by default)."""
        region = region or self.region
        return self.stores.get(region) or self.stores.get("") or self.stores.get(self.region, "")

    def stage_index(self, name: str) -> int:
        for index, stage in enumerate(self.stages):
            if stage.name == name:
                return index
        raise KeyError(name)

    def s3_watches(self) -> list[S3Watch]:
        return [
            S3Watch(
                a.name,
                a.configuration.get("S3Bucket", ""),
                a.configuration.get("S3ObjectKey", ""),
                truthy(a.configuration.get("PollForSourceChanges", "true")),
            )
            for stage in self.stages
            for a in stage.actions
            if a.kind == S3_SOURCE
        ]


def with_defaults(declaration: dict[str, Any]) -> dict[str, Any]:
    """What GetPipeline reports that moto leaves out: the execution mode and pipeline type."""
    declaration.setdefault("executionMode", "SUPERSEDED")
    declaration.setdefault("pipelineType", "V1")
    return declaration


def problem(declaration: dict[str, Any]) -> tuple[str, str] | None:
    """(error code, message) of the first thing AWS would refuse in ``declaration``."""
    mode = declaration.get("executionMode") or "SUPERSEDED"
    if mode != "SUPERSEDED" and declaration.get("pipelineType") != "V2":
        return "ValidationException", f"{mode} execution mode requires pipeline type V2"
    if not declaration.get("artifactStore") and not declaration.get("artifactStores"):
        return "InvalidStructureException", "Pipeline must have an artifactStore or artifactStores"
    stages = declaration.get("stages") or []
    names = [s.get("name") for s in stages]
    if len(set(names)) != len(names):
        return "InvalidStageDeclarationException", "Stage names must be unique in a pipeline"
    produced: set[str] = set()
    for index, stage in enumerate(stages):
        actions = [ActionSpec.of(a) for a in stage.get("actions") or []]
        if not actions:
            return "InvalidStageDeclarationException", f"Stage {stage['name']} has no actions"
        if len({a.name for a in actions}) != len(actions):
            return "InvalidActionDeclarationException", (
                f"Action names must be unique within stage {stage['name']}"
            )
        for action in actions:
            found = _action_problem(action, index, stage["name"])
            if found:
                return found
        for order in sorted({a.run_order for a in actions}):
            group = [a for a in actions if a.run_order == order]
            for action in group:
                missing = [i for i in action.inputs if i not in produced]
                if missing:
                    return "InvalidStructureException", (
                        f"Input Artifact Bundle {missing[0]} in action '{action.name}' is not "
                        "declared as an Output Artifact Bundle of any preceding action"
                    )
            for action in group:
                for output in action.outputs:
                    if output in produced:
                        return "InvalidStructureException", (
                            f"Output Artifact Bundle name must be unique: {output}"
                        )
                    produced.add(output)
    return None


def _action_problem(action: ActionSpec, stage_index: int, stage: str) -> tuple[str, str] | None:
    is_source = action.category == "Source"
    if stage_index == 0 and not is_source:
        return "InvalidStructureException", (
            f"The first stage ({stage}) may only contain source actions: '{action.name}' is a "
            f"{action.category} action"
        )
    if stage_index > 0 and is_source:
        return "InvalidStructureException", (
            f"Source action '{action.name}' must be in the pipeline's first stage, not in {stage}"
        )
    for key in _REQUIRED.get(action.kind, ()):
        if not action.configuration.get(key):
            return "InvalidActionDeclarationException", (
                f"Action configuration for action '{action.name}' is missing required "
                f"configuration '{key}'"
            )
    if action.kind in _ARTIFACTS:
        for what, names, (low, high) in zip(
            ("input", "output"),
            (action.inputs, action.outputs),
            _ARTIFACTS[action.kind],
            strict=True,
        ):
            if not low <= len(names) <= high:
                allowed = str(low) if low == high else f"{low} to {high}"
                return "InvalidActionDeclarationException", (
                    f"Action '{action.name}' of provider {action.provider} takes {allowed} "
                    f"{what} artifact(s), not {len(names)}"
                )
    if action.kind in CODEBUILD and action.configuration.get("EnvironmentVariables"):
        try:
            environment_variables(action.configuration)
        except ValueError as exc:
            return "InvalidActionDeclarationException", (
                f"EnvironmentVariables of action '{action.name}': {exc}"
            )
    return None


def environment_variables(configuration: dict[str, str]) -> list[dict[str, str]]:
    """The CodeBuild action's ``EnvironmentVariables``: a JSON list of name/value/type."""
    text = configuration.get("EnvironmentVariables")
    if not text:
        return []
    try:
        found = json.loads(text)
    except ValueError:
        raise ValueError("not valid JSON") from None
    if not isinstance(found, list) or not all(
        isinstance(v, dict) and isinstance(v.get("name"), str) for v in found
    ):
        raise ValueError('expected a list like [{"name": "X", "value": "1", "type": "PLAINTEXT"}]')
    return [
        {"name": v["name"], "value": str(v.get("value", "")), "type": v.get("type", "PLAINTEXT")}
        for v in found
    ]
