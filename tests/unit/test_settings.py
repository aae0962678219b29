"""Learner, target and region set once: defaults < settings file < explicit/papermill values."""

from __future__ import annotations

import json

import boto3
import pytest

from mysfits_lab import Lab, LabError, runner, settings
from mysfits_lab.lab import known_regions, validate_region


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MYSFITS_LAB_RUNS", str(tmp_path / "runs"))
    return tmp_path / "home"


def test_without_a_settings_file_the_defaults_apply(home):
    assert settings.resolve() == settings.Settings("mysfit", "local", "us-east-1")
    assert [row["from"] for row in settings.describe()] == ["default"] * 3


def test_the_file_beats_the_defaults_and_explicit_values_beat_the_file(home):
    settings.save(learner="alice", region="eu-west-1")
    stored = json.loads((home / "settings.json").read_text())
    assert stored == {"learner": "alice", "region": "eu-west-1"}  # only what was set
    assert settings.resolve() == settings.Settings("alice", "local", "eu-west-1")
    assert settings.resolve(region="us-west-2", learner=None) == settings.Settings(
        "alice", "local", "us-west-2"
    )
    assert settings.resolve(target="aws", learner="bob").learner == "bob"
    settings.save(target="aws")  # a later change keeps the earlier ones
    assert settings.resolve() == settings.Settings("alice", "aws", "eu-west-1")
    sources = {row["setting"]: row["from"] for row in settings.describe()}
    assert sources == dict.fromkeys(("learner", "target", "region"), str(home / "settings.json"))


def test_a_refused_value_leaves_the_file_as_it_was(home):
    settings.save(region="eu-west-1")
    with pytest.raises(LabError, match="Did you mean us-east-1"):
        settings.save(region="us-east1")
    with pytest.raises(LabError, match="lower-case letters"):
        settings.save(learner="Alice")
    with pytest.raises(LabError, match="one of local, aws"):
        settings.save(target="azure")
    assert settings.stored() == {"region": "eu-west-1"}


def test_a_bad_value_in_the_file_names_the_file_and_the_fix(home):
    home.mkdir(parents=True)
    (home / "settings.json").write_text('{"region": "us-east1"}')
    with pytest.raises(LabError, match="settings.json; change it with `mysfits-lab settings"):
        settings.resolve()
    assert settings.resolve(region="us-east-2").region == "us-east-2"  # an explicit value wins
    (home / "settings.json").write_text("{not json")
    with pytest.raises(LabError, match="not valid JSON"):
        settings.resolve()


def test_unknown_regions_are_refused_with_the_valid_ones_listed():
    assert validate_region("eu-west-1") == "eu-west-1"
    assert validate_region("cn-north-1") == "cn-north-1"
    with pytest.raises(LabError) as caught:
        validate_region("us-east1")
    message = str(caught.value)
    assert "unknown region 'us-east1'. Did you mean us-east-1?" in message
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"):
        assert region in message
    assert len(known_regions()) > 20


def test_the_valid_regions_do_not_depend_on_an_aws_profile(monkeypatch):
    known_regions.cache_clear()
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    assert "us-east-1" in known_regions()


def _offline_connect(monkeypatch) -> list[tuple[str, str]]:
    """Lab.connect without a cloud: records the region and learner it connects with."""
    seen: list[tuple[str, str]] = []

    def connect_local(cls, region: str, learner: str) -> Lab:
        seen.append((region, learner))
        session = boto3.Session(
            region_name=region, aws_access_key_id="x", aws_secret_access_key="y"
        )
        return cls("local", region, learner, session, "123456789012", None, "instance-1")

    monkeypatch.setattr(Lab, "_connect_local", classmethod(connect_local))
    return seen


def test_connect_takes_what_it_is_not_given_from_the_settings(home, monkeypatch):
    seen = _offline_connect(monkeypatch)
    settings.save(learner="alice", region="eu-west-1")
    lab = Lab.connect(target=None, region=None, learner=None)  # a parameters cell of Nones
    assert (lab.target, lab.region, lab.learner) == ("local", "eu-west-1", "alice")
    lab = Lab.connect(region="eu-west-1", learner="bob")  # papermill parameters win
    assert seen == [("eu-west-1", "alice"), ("eu-west-1", "bob")]
    with pytest.raises(LabError, match="Did you mean eu-west-1"):
        Lab.connect(region="eu-west1")
    assert len(seen) == 2  # refused before connecting


def test_run_passes_the_settings_to_papermill_unless_told_otherwise(home, monkeypatch):
    import papermill

    passed: list[dict[str, str]] = []
    monkeypatch.setattr(
        papermill, "execute_notebook", lambda *args, parameters, **kw: passed.append(parameters)
    )
    settings.save(learner="alice", region="eu-west-1", target="aws")  # aws: no cloud to start
    assert runner.run_notebooks(only=["00"]).ok
    runner.run_notebooks(learner="bob", region="us-west-2", only=["00"])
    assert passed == [
        {"target": "aws", "region": "eu-west-1", "learner": "alice"},
        {"target": "aws", "region": "us-west-2", "learner": "bob"},
    ]
