"""A real step against the local cloud: the lab lists the calls it sent, replayable with the CLI."""

from __future__ import annotations

from mysfits_lab.steps import website


def test_a_step_lists_the_calls_it_sent(lab):
    assert lab.calls.show is None  # decided per cell: on in a learner's notebook

    bucket = website.create_bucket(lab)
    website.enable_website(lab, bucket)

    made = lab.calls.last_cell()  # no IPython cells here: every call so far
    assert [(c.service, c.operation, c.outcome) for c in made] == [
        ("s3", "CreateBucket", "200"),
        ("s3", "PutBucketTagging", "204"),  # No Content, as on AWS
        ("s3", "PutBucketWebsite", "200"),
    ]
    assert made[0].params == {"Bucket": bucket}
    assert made[1].params["Tagging"]["TagSet"] == lab.tag_list()
    assert made[2].cli() == (
        f"aws s3api put-bucket-website --bucket {bucket} --website-configuration "
        """'{"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"}}' """
        f"--endpoint-url {lab.endpoint_url}"
    )


def test_building_the_site_lists_uploads_as_sizes(lab):
    website.build(lab)
    uploads = [c for c in lab.calls if c.operation == "PutObject"]
    assert {c.params["Key"] for c in uploads} >= {"index.html", "mysfits.json", "config.js"}
    assert all(c.params["Body"].endswith(" bytes>") for c in uploads)
    assert all(c.status < 300 and c.seconds is not None for c in lab.calls)
    assert "PutBucketPolicy" in lab.calls.text()
