"""Reading buildspecs: what runs, and CodeBuild's errors for what it rejects."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.codebuild.buildspec import PhaseError, parse_buildspec


def test_buildspec_phases_variables_and_artifacts():
    spec = parse_buildspec(
        """
version: 0.2
env:
  variables:
    TAG: latest
    COUNT: 3
    ENABLED: yes
  parameter-store:
    PASSWORD: /app/password
phases:
  pre_build:
    on-failure: CONTINUE
    commands:
      - echo one
  build:
    commands:
      - make
    finally:
      - echo done
artifacts:
  files:
    - imagedefinitions.json
  discard-paths: yes
"""
    )
    assert spec.version == "0.2"
    assert spec.variables == {"TAG": "latest", "COUNT": "3", "ENABLED": "true"}
    assert spec.parameter_store == {"PASSWORD": "/app/password"}
    assert spec.phases["pre_build"].on_failure == "CONTINUE"
    assert spec.phases["build"].commands == ["make"]
    assert spec.phases["build"].finally_ == ["echo done"]
    assert spec.phase("BUILD") is spec.phases["build"]
    assert spec.phase("INSTALL") is None
    assert spec.artifacts == {"files": ["imagedefinitions.json"], "discard-paths": True}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n",
            r"Commands\[0\] to be of string type",
        ),
        ("version: 0.3\nphases: {}\n", "invalid buildspec version"),
        ("version: 0.2\nphases:\n  deploy:\n    commands: [x]\n", "unknown phase 'deploy'"),
        ("version: 0.2\nphases: [\n", "not valid YAML"),
        ("version: 0.2\nartifacts:\n  name: x\n", "artifacts needs a files list"),
        (
            "version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n",
            "on-failure must be ABORT or CONTINUE",
        ),
    ],
)
def test_buildspec_errors_are_yaml_file_errors(text, message):
    with pytest.raises(PhaseError, match=message) as failure:
        parse_buildspec(text)
    assert failure.value.code == "YAML_FILE_ERROR"
