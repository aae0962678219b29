"""The image store: one snapshot per content, local names, and ``docker push`` to ECR."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from mysfits_lab.localcloud.images.errors import PushError
from mysfits_lab.localcloud.images.store import ImageStore

from .contexts import APP, make_context

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def test_same_content_shares_one_snapshot_and_tags_resolve(tmp_path, store):
    context = make_context(tmp_path / "ctx", "FROM scratch\nCOPY app/ /app/\n", APP)
    first = store.build(context, tags=["web:1"])
    again = store.build(context, tags=["web"])
    assert again.digest == first.digest and again.root == first.root
    store.tag("web:1", f"{REGISTRY}/web:v1")
    assert store.resolve("web:latest").digest == first.digest
    assert store.resolve(f"{REGISTRY}/web:v1").digest == first.digest
    assert store.resolve(f"{REGISTRY}/web@{first.digest}").digest == first.digest
    assert store.resolve(first.id).digest == first.digest
    with pytest.raises(LookupError, match="No such image: web:2"):
        store.resolve("web:2")
    reopened = ImageStore(store.root)
    assert reopened.resolve("web:1").digest == first.digest
    assert [i["refs"] for i in reopened.list()] == [[f"{REGISTRY}/web:v1", "web:1", "web:latest"]]


@pytest.fixture
def ecr(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield boto3.client(
            "ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )


def test_push_records_the_image_in_ecr_with_its_digest(tmp_path, store, ecr):
    image = store.build(make_context(tmp_path / "ctx", "FROM scratch\nCOPY app/ /app/\n", APP))
    ecr.create_repository(repositoryName="web")
    store.tag(image.id, f"{REGISTRY}/web:v1")
    assert store.push(f"{REGISTRY}/web:v1", ecr) == image.digest
    assert store.push(f"{REGISTRY}/web:v1", ecr) == image.digest  # pushing again is fine

    details = ecr.describe_images(repositoryName="web")["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in details] == [(image.digest, ["v1"])]
    manifest = json.loads(
        ecr.batch_get_image(repositoryName="web", imageIds=[{"imageTag": "v1"}])["images"][0][
            "imageManifest"
        ]
    )
    assert manifest["config"]["digest"] == image.digest
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"

    store.tag(image.id, f"{REGISTRY}/nope:v1")
    with pytest.raises(PushError, match="name unknown: The repository with name 'nope' does not"):
        store.push(f"{REGISTRY}/nope:v1", ecr)
    with pytest.raises(PushError, match="An image does not exist locally with the tag"):
        store.push(f"{REGISTRY}/web:v2", ecr)
    store.tag(image.id, "docker.io/library/web:v1")
    with pytest.raises(PushError, match="denied"):
        store.push("docker.io/library/web:v1", ecr)


def test_each_build_daemon_has_its_own_local_tags(tmp_path, store):
    """Two learners' builds at once both tag ``app:build``: each pushes its own image."""
    one = store.build(
        make_context(tmp_path / "one", "FROM scratch\nCOPY app/ /app/\n", APP),
        tags=["app:build"],
        daemon="build-one",
    )
    other_app = {**APP, "app/extra.txt": "learner two"}
    two = store.build(
        make_context(tmp_path / "two", "FROM scratch\nCOPY app/ /app/\n", other_app),
        tags=["app:build"],
        daemon="build-two",
    )
    assert one.digest != two.digest
    assert store.local("app:build", "build-one").digest == one.digest
    assert store.tag("app:build", f"{REGISTRY}/app:v1", "build-two").digest == two.digest
    with pytest.raises(LookupError, match="No such image"):
        store.local("app:build")  # the cloud's own daemon tagged nothing
    listed = {i["digest"]: i["refs"] for i in store.list("build-one")}
    assert listed == {one.digest: ["app:build"], two.digest: []}
    assert all(i["refs"] == [] for i in store.list())
