"""The call recorder: what a cell sent to AWS, from botocore's hooks on the lab's session."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from IPython.core.interactiveshell import InteractiveShell
from moto import mock_aws
from traitlets.config import Config as TraitletsConfig

from mysfits_lab import calls
from mysfits_lab.calls import Call, CallList, clean_params
from mysfits_lab.lab import Lab
from tests.helpers import free_port

EDGE = "http://127.0.0.1:4577"
PASSWORD = "Hunter2-Mysfits!"
SECRET_STRING = "the-dragon-sleeps-at-noon"
BODY = b"<html>" + b"x" * 5000


def _session() -> boto3.Session:
    return boto3.Session(region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with mock_aws():
        yield _session()


def _signed_up_and_stored(session: boto3.Session) -> None:
    idp = session.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="MysfitsUserPool")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="site")["UserPoolClient"]
    idp.sign_up(ClientId=client["ClientId"], Username="mysfit", Password=PASSWORD)
    session.client("secretsmanager").create_secret(Name="db", SecretString=SECRET_STRING)
    s3 = session.client("s3")
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="index.html", Body=BODY)
    s3.put_object(Bucket="site", Key="stream.html", Body=io.BytesIO(b"y" * 99))


# -- recording --------------------------------------------------------------------------------
def test_calls_are_listed_with_their_parameters_status_and_time(aws):
    recorder = calls.attach(aws)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="site")
    website = {"IndexDocument": {"Suffix": "index.html"}}
    s3.put_bucket_website(Bucket="site", WebsiteConfiguration=website)

    assert [(c.service, c.operation) for c in recorder] == [
        ("s3", "CreateBucket"),
        ("s3", "PutBucketWebsite"),
    ]
    put = recorder[1]
    assert put.params == {"Bucket": "site", "WebsiteConfiguration": website}
    assert put.status == 200 and put.outcome == "200" and put.error is None
    assert put.seconds is not None and put.seconds > 0
    assert recorder.summary().startswith("2 AWS calls · ")


def test_attaching_twice_keeps_one_recorder_and_records_each_call_once(aws):
    first = calls.attach(aws)
    assert calls.attach(aws, EDGE) is first and first.endpoint_url == EDGE
    aws.client("s3").list_buckets()
    assert [c.operation for c in first] == ["ListBuckets"]


def test_secrets_and_bodies_are_never_shown(aws):
    recorder = calls.attach(aws)
    _signed_up_and_stored(aws)

    shown = repr(recorder) + recorder.html() + recorder.cli() + repr([c.params for c in recorder])
    for secret in (PASSWORD, SECRET_STRING, "xxxxxxxxxx"):
        assert secret not in shown
    by_operation = {c.operation: c for c in recorder}
    assert by_operation["SignUp"].params["Password"] == "<secret>"
    assert by_operation["SignUp"].params["ClientId"] == "<secret>"  # sensitive in the model only
    assert by_operation["CreateSecret"].params["SecretString"] == "<secret>"
    assert by_operation["CreateSecret"].params["Name"] == "db"
    bodies = [c.params["Body"] for c in recorder if c.operation == "PutObject"]
    assert bodies == [f"<{len(BODY)} bytes>", "<99 bytes>"]


def test_secrets_are_found_by_name_and_long_values_are_cut():
    cleaned = clean_params(
        {
            "DbPassword": "p4ss",
            "SessionToken": "t0k",
            "NextToken": "page-2",
            "SecretId": "db",
            "AuthParameters": {"USERNAME": "mysfit", "PASSWORD": "p4ss"},
            "environment": [{"name": "API_TOKEN", "value": "t0k"}, {"name": "PORT", "value": "80"}],
            "TemplateBody": "x" * 5000,
            "Subnets": [f"subnet-{i}" for i in range(25)],
        },
        None,
    )
    assert cleaned["DbPassword"] == cleaned["SessionToken"] == "<secret>"
    assert (cleaned["NextToken"], cleaned["SecretId"]) == ("page-2", "db")
    assert cleaned["AuthParameters"] == {"USERNAME": "mysfit", "PASSWORD": "<secret>"}
    assert cleaned["environment"][0]["value"] == "<secret>"
    assert cleaned["environment"][1]["value"] == "80"
    assert cleaned["TemplateBody"] == "<5000 bytes>"
    assert len(cleaned["Subnets"]) == 21 and cleaned["Subnets"][-1] == "<5 more>"


def test_errors_are_recorded_with_their_code(aws):
    recorder = calls.attach(aws)
    with pytest.raises(ClientError):
        aws.client("s3").get_object(Bucket="no-such-bucket", Key="index.html")
    assert recorder[0].status == 404 and recorder[0].error == "NoSuchBucket"
    assert recorder[0].outcome == "404 NoSuchBucket"


def test_a_call_without_an_answer_is_recorded_with_its_exception():
    session = _session()
    recorder = calls.attach(session)
    closed = f"http://127.0.0.1:{free_port()}"
    config = Config(retries={"max_attempts": 1}, connect_timeout=1)
    with pytest.raises(EndpointConnectionError):
        session.client("ecs", endpoint_url=closed, config=config).list_clusters()
    assert recorder[0].status is None and recorder[0].outcome == "EndpointConnectionError"


def test_clients_created_after_attaching_are_covered_and_earlier_ones_are_not(aws):
    before = aws.client("s3")
    recorder = calls.attach(aws)
    aws.client("s3").create_bucket(Bucket="site")
    aws.resource("dynamodb").meta.client.list_tables()
    before.list_buckets()
    assert [c.operation for c in recorder] == ["CreateBucket", "ListTables"]


def test_presigning_a_url_is_not_a_call(aws):
    recorder = calls.attach(aws)
    aws.client("s3").generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    assert len(recorder) == 0


def test_a_lab_records_the_calls_of_its_clients(aws, tmp_path, monkeypatch):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path))
    lab = Lab("aws", "us-east-1", "mysfit", aws, "123456789012")
    lab.client("s3").create_bucket(Bucket="site")
    assert [c.operation for c in lab.calls] == ["CreateBucket"]
    assert lab.calls is calls.attach(aws)


# -- rendering --------------------------------------------------------------------------------
def test_cli_form_of_a_website_configuration(aws):
    recorder = calls.attach(aws)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="site")
    config = {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"}}
    s3.put_bucket_website(Bucket="site", WebsiteConfiguration=config)
    assert recorder[1].cli() == (
        "aws s3api put-bucket-website --bucket site --website-configuration "
        """'{"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"}}'"""
    )


def test_cli_form_of_an_ecs_service_on_the_local_cloud(aws):
    recorder = calls.attach(aws, EDGE)
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName="MysfitsCluster")
    ecs.register_task_definition(
        family="mysfitsservice",
        containerDefinitions=[{"name": "MythicalMysfits-Service", "image": "img", "memory": 512}],
    )
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="service", Description="d", VpcId=vpc)["GroupId"]
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    ecs.create_service(
        cluster="MysfitsCluster",
        serviceName="MysfitsService",
        taskDefinition="mysfitsservice",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network,
        enableExecuteCommand=False,
    )
    assert recorder[-1].cli() == (
        "aws ecs create-service --cluster MysfitsCluster --service-name MysfitsService "
        "--task-definition mysfitsservice --desired-count 1 --launch-type FARGATE "
        f"--network-configuration '{json.dumps(network)}' --no-enable-execute-command "
        f"--endpoint-url {EDGE}"
    )
    assert (
        recorder[0].cli()
        == f"aws ecs create-cluster --cluster-name MysfitsCluster --endpoint-url {EDGE}"
    )


def test_cli_lists_scalars_as_words_and_quotes_for_the_shell():
    call = Call("ecs", "DescribeServices", {"cluster": "it's", "services": ["a", "b c"]})
    assert call.cli() == "aws ecs describe-services --cluster 'it'\"'\"'s' --services a 'b c'"


def test_html_is_a_collapsible_list_with_the_cli_form_inside(aws):
    recorder = calls.attach(aws)
    aws.client("s3").create_bucket(Bucket="site")
    tags = [{"Key": f"tag-{i}", "Value": "<mysfits-lab>"} for i in range(3)]
    aws.client("s3").put_bucket_tagging(Bucket="site", Tagging={"TagSet": tags})
    markup = recorder.last_cell().html()
    assert markup.startswith("<details") and "<summary>2 AWS calls · " in markup
    assert "<summary>as AWS CLI commands</summary>" in markup
    assert "aws s3api create-bucket --bucket site" in markup
    assert "&lt;mysfits-lab&gt;" in markup and "<mysfits-lab>" not in markup
    # long parameters unfold into their full JSON
    assert "<pre>{\n  &quot;Bucket&quot;: &quot;site&quot;," in markup


def test_a_waiter_polling_shares_one_row(aws):
    recorder = calls.attach(aws)
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName="c")
    for _ in range(3):
        ecs.describe_clusters(clusters=["c"])
    rows = recorder.rows()
    assert [row["operation"] for row in rows] == ["CreateCluster", "DescribeClusters ×3"]
    assert recorder.cli().splitlines()[-1] == "aws ecs describe-clusters --clusters c  # ×3"
    assert len(recorder) == 4


# -- notebook cells ---------------------------------------------------------------------------
@pytest.fixture
def shell(monkeypatch, tmp_path) -> Iterator[InteractiveShell]:
    """A real IPython shell (the kernel's base class): its cells trigger the real events."""
    for name in (calls.SHOW_ENV, "MYSFITS_LAB_PLAIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))  # no profile or history in the home folder
    config = TraitletsConfig()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    try:
        yield shell
    finally:
        InteractiveShell.clear_instance()


def test_each_cell_lists_the_calls_it_made_once(aws, shell, capsys):
    recorder = calls.attach(aws)
    assert calls.watch_cells()
    registered = len(shell.events.callbacks["post_run_cell"])
    assert calls.watch_cells() and len(shell.events.callbacks["post_run_cell"]) == registered
    shell.user_ns["s3"] = aws.client("s3")
    cell = "s3.create_bucket(Bucket='site')\ns3.put_bucket_tagging(Bucket='site', Tagging={})"
    shell.run_cell(cell, store_history=True)
    shown = capsys.readouterr().out
    assert shown.count("2 AWS calls · ") == 1
    assert "CreateBucket" in shown and "PutBucketTagging" in shown

    shell.run_cell("x = 1", store_history=True)
    assert "AWS call" not in capsys.readouterr().out
    assert [c.operation for c in recorder.last_cell()] == ["CreateBucket", "PutBucketTagging"]
    assert recorder[0].cell == 1


@pytest.mark.parametrize(
    "env, show, shown",
    [
        ({"MYSFITS_LAB_PLAIN": "1"}, None, False),  # the runner's papermill runs
        ({"MYSFITS_LAB_PLAIN": "1", calls.SHOW_ENV: "1"}, None, True),
        ({calls.SHOW_ENV: "0"}, None, False),
        ({"MYSFITS_LAB_PLAIN": "1"}, True, True),  # Lab.connect(show_calls=True)
        ({}, False, False),
    ],
)
def test_showing_follows_papermill_the_environment_and_the_option(
    aws, shell, capsys, monkeypatch, env, show, shown
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    recorder = calls.attach(aws)
    recorder.show = show
    calls.watch_cells()
    shell.user_ns["s3"] = aws.client("s3")
    shell.run_cell("s3.list_buckets()", store_history=True)
    assert ("1 AWS call · " in capsys.readouterr().out) is shown
    assert [c.operation for c in recorder.last_cell()] == ["ListBuckets"]  # recorded anyway


def test_a_kernel_driven_by_nbclient_does_not_show_calls(aws, shell, capsys, monkeypatch):
    class Kernel:
        _allow_stdin = False  # what papermill's and nbconvert's execute requests say

    monkeypatch.setattr(shell, "kernel", Kernel(), raising=False)
    calls.attach(aws)
    calls.watch_cells()
    shell.user_ns["s3"] = aws.client("s3")
    shell.run_cell("s3.list_buckets()", store_history=True)
    assert "AWS call" not in capsys.readouterr().out


def test_outside_ipython_the_last_cell_is_every_call(aws):
    recorder = calls.attach(aws)
    assert calls.watch_cells() is False
    aws.client("s3").list_buckets()
    aws.client("s3").list_buckets()
    assert isinstance(recorder.last_cell(), CallList) and len(recorder.last_cell()) == 2
