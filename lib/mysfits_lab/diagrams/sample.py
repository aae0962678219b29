"""Outputs as a finished workbook run on AWS would record them, named by the steps' own naming
rules: the README's pictures are drawn from them, and the tests use long learner names and
regions to prove that real names fit."""

from __future__ import annotations

import hashlib

import boto3

from ..lab import Lab, s3_website_url
from ..steps import (
    api,
    clicks,
    data,
    network,
    pipeline,
    questions,
    recommendations,
    recommender_api,
    service,
)
from .catalogue import Values


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def sample_outputs(
    learner: str = "mysfit", region: str = "us-east-1", account: str = "123456789012"
) -> Values:
    session = boto3.Session(region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
    lab = Lab("aws", region, learner, session, account)
    names = service.Names.of(lab)
    website = lab.bucket_name("website")
    balancer = f"{names.load_balancer}-{_hex('nlb', 16)}.elb.{region}.amazonaws.com"
    uris = {
        channel: f"s3://{lab.bucket_name('sagemaker')}/{recommendations.PREFIX}/{channel}/"
        for channel in ("train", "test")
    }
    job = recommendations.job_name(lab, uris, recommendations.HYPERPARAMETERS)
    output = f"s3://{lab.bucket_name('sagemaker')}/{recommendations.PREFIX}/output"
    return {
        "lab": {"target": "aws", "region": region, "account": account},
        "website": {"bucket": website, "url": s3_website_url(website, region)},
        "network": {
            "stack_name": network.stack_name(lab),
            "vpc_id": f"vpc-{_hex('vpc', 17)}",
            "public_subnet_one": f"subnet-{_hex('public1', 17)}",
            "public_subnet_two": f"subnet-{_hex('public2', 17)}",
            "service_subnet_one": f"subnet-{_hex('private1', 17)}",
            "service_subnet_two": f"subnet-{_hex('private2', 17)}",
        },
        "service": {
            "url": f"http://{balancer}",
            "nlb_dns": balancer,
            "cluster": names.cluster,
            "name": names.service,
            "log_group": names.log_group,
            "image_uri": f"{account}.dkr.ecr.{region}.amazonaws.com/{names.repository}"
            f":src-{_hex('source', 12)}",
        },
        "pipeline": {
            "name": pipeline.Names.of(lab).pipeline,
            "source_bucket": pipeline.Names.of(lab).source_bucket,
            "artifacts_bucket": pipeline.Names.of(lab).artifacts_bucket,
            "project": pipeline.Names.of(lab).project,
        },
        "data": {"table": data.table_name(lab)},
        "users": {
            "user_pool_id": f"{region}_{_hex('pool', 9)}",
            "client_id": _hex("client", 26),
        },
        "api": {
            "id": _hex("api", 10),
            "name": api.api_name(lab),
            "url": f"https://{_hex('api', 10)}.execute-api.{region}.amazonaws.com/prod",
            "vpc_link_id": _hex("vpclink", 6),
        },
        "clicks": {
            "api_id": _hex("clicks", 10),
            "stream": clicks.Names.of(lab).stream,
            "function": clicks.Names.of(lab).function,
            "bucket": lab.bucket_name("clicks"),
        },
        "questions": {
            "api_id": _hex("questions", 10),
            "post_function": questions.Names.of(lab).post_function,
            "stream_function": questions.Names.of(lab).stream_function,
            "table": questions.Names.of(lab).table,
            "topic_arn": f"arn:aws:sns:{region}:{account}:{questions.Names.of(lab).topic}",
            "admin_email": f"staff.{learner}@example.com",
        },
        "recommendations": {
            "endpoint_name": recommendations.endpoint_name(lab),
            "training_job": job,
            "model_data": f"{output}/{job}/output/model.tar.gz",
            "api_id": _hex("recommendations", 10),
            "function": recommender_api.Names.of(lab).function,
        },
    }
