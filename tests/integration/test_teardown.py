"""The whole-workbook teardown on a real local cloud: two learners, one torn down.

Cheap modules only (the site, the user pool and a versioned bucket with several object
versions): the full workbook's teardown is proved on the notebooks' own run
(``tests/notebooks/test_workbook_teardown.py``).
"""

from __future__ import annotations

from mysfits_lab import Lab
from mysfits_lab.cli import main
from mysfits_lab.steps import teardown, users, website
from mysfits_lab.steps.buckets import ensure_bucket


def _build(learner: str) -> Lab:
    lab = Lab.connect(learner=learner)
    website.build(lab)
    users.build(lab)
    bucket = ensure_bucket(lab, "clicks", versioned=True)
    s3 = lab.client("s3")
    for body in (b"one", b"two", b"three"):  # three versions of one key, then a delete marker
        s3.put_object(Bucket=bucket, Key="firehose/click.json", Body=body)
    s3.delete_object(Bucket=bucket, Key="firehose/click.json")
    return lab


def test_teardown_removes_one_learner_entirely_and_nothing_of_another(cloud, clean_aws_env, capsys):
    ana, bob = _build("ana"), _build("anabel")  # "ana" is a prefix of "anabel": never confused
    listed = {(r.kind, r.name) for r in teardown.inventory(ana)}
    assert ("user pool", "ana-MysfitsUserPool") in listed
    assert ("S3 bucket", ana.bucket_name("clicks")) in listed
    assert not any("anabel" in name for _, name in listed)
    bob_before = {(r.kind, r.name) for r in teardown.inventory(bob)}

    # A dry run lists and deletes nothing.
    assert main(["teardown", "--learner", "ana", "--dry-run"]) == 0
    assert "Dry run: nothing was removed." in capsys.readouterr().out
    assert {(r.kind, r.name) for r in teardown.inventory(ana)} == listed

    assert main(["teardown", "--learner", "ana", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "OK: nothing of learner ana is left." in out
    assert teardown.inventory(ana) == []
    assert {(r.kind, r.name) for r in teardown.inventory(bob)} == bob_before
    assert website.check_site(bob.outputs.get("website.url")).status == 200

    # Idempotent: a second run finds nothing and says so.
    assert main(["teardown", "--learner", "ana", "--yes"]) == 0
    assert "Nothing to remove." in capsys.readouterr().out
    assert teardown.check(ana, removed=True).ok
