"""The notebooks as a learner and an instructor run them: papermill, reruns, failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import requests

from mysfits_lab.outputs import OutputsStore
from mysfits_lab.paths import learner_dir
from mysfits_lab.runner import run_notebooks
from tests.helpers import free_port


def _cell_text(path: Path, marker: str) -> str:
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and marker in c.source)
    return "".join(
        o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
        for o in cell.outputs
    )


def test_the_whole_workbook_then_every_module_again(executed_workbook, clean_aws_env):
    first = executed_workbook
    assert first.ok, first.failed
    ran = {r.notebook: r for r in first.runs}
    assert list(ran) == [
        "00-setup",
        "01-static-site",
        "02a-service",
        "02b-pipeline",
        "03-data",
        "04-users-api",
        "05-clickstream",
        "06-questions",
        "07-recommendations",
        "99-teardown",
    ]
    assert "shows 6 mysfits from mysfits.json" in _cell_text(
        ran["01-static-site"].output_path, "check_site"
    )
    assert "GET /mysfits returns 6 mysfits" in _cell_text(
        ran["02a-service"].output_path, "check_api"
    )
    assert "shows 6 mysfits from the API" in _cell_text(ran["02a-service"].output_path, "check_api")
    assert "GET /mysfits lists 12 mysfits; the filters' counts match" in _cell_text(
        ran["03-data"].output_path, "NBVAL_CHECK_OUTPUT"
    )
    assert "OK: all 6 requests answered as they should" in _cell_text(
        ran["04-users-api"].output_path, "NBVAL_CHECK_OUTPUT"
    )
    assert "signed up and confirmed" in _cell_text(ran["04-users-api"].output_path, "demo_user")
    assert "OK: every click reached S3 enriched" in _cell_text(
        ran["05-clickstream"].output_path, "NBVAL_CHECK_OUTPUT"
    )
    assert "6 clicks of notebook-visitor are in S3." in _cell_text(
        ran["05-clickstream"].output_path, "wait_for_clicks"
    )
    assert "OK: a question is stored, emailed to the staff once" in _cell_text(
        ran["06-questions"].output_path, "NBVAL_CHECK_OUTPUT"
    )
    burst = _cell_text(ran["06-questions"].output_path, "set_fault_injection")
    assert "Traces with a fault" in burst
    assert burst.count("→ 502") >= 1, burst  # five in six hang 5 s and fail, as planted
    assert "Recommendation works" in _cell_text(
        ran["07-recommendations"].output_path, "NBVAL_CHECK_OUTPUT"
    )

    # Idempotent: no error, nothing new. In workbook order, so 02b and 03 release their source
    # changes again after 02a has rolled the service to its own image.
    # The rerun skips 06's planted-fault burst: the first run already proved it.
    again = run_notebooks(
        only=["01", "02a", "02b", "03", "04", "05", "06", "07"], extra={"inject_fault": False}
    )
    assert again.ok, again.failed
    rerun = {r.notebook: r for r in again.runs}
    assert "Reusing" in _cell_text(rerun["02a-service"].output_path, "build_service_image")
    assert "Wrote 12 mysfits" in _cell_text(rerun["03-data"].output_path, "load_mysfits")
    assert "GET /mysfits lists 12 mysfits" in _cell_text(
        rerun["03-data"].output_path, "NBVAL_CHECK_OUTPUT"
    )
    assert "The stage already runs this document" in _cell_text(
        rerun["04-users-api"].output_path, "api.deploy"
    )
    assert "existing" in _cell_text(rerun["04-users-api"].output_path, "demo_user")
    assert "Reusing training job" in _cell_text(
        rerun["07-recommendations"].output_path, "rec.train"
    )

    from mysfits_lab import Lab

    lab = Lab.connect()
    assert len(lab.client("elbv2").describe_load_balancers()["LoadBalancers"]) == 1
    assert (
        len(
            lab.client("ecs").list_services(cluster=lab.name("MythicalMysfits-Cluster"))[
                "serviceArns"
            ]
        )
        == 1
    )
    tables = lab.client("dynamodb").list_tables()["TableNames"]
    assert [t for t in tables if "MysfitsTable" in t] == ["mysfit-MysfitsTable"]
    # The planted fault, as X-Ray recorded it: faulty traces that spent ~5 s in
    # hanging_exception, and a service graph whose function node counts the faults.
    import time as _time

    xray = lab.client("xray")
    window = {"StartTime": _time.time() - 3600, "EndTime": _time.time()}
    faulty = xray.get_trace_summaries(**window, FilterExpression="fault")["TraceSummaries"]
    assert faulty
    documents = xray.batch_get_traces(TraceIds=[faulty[0]["Id"]])["Traces"][0]["Segments"]
    assert any("hanging_exception" in d["Document"] for d in documents)
    graph = xray.get_service_graph(**window)["Services"]
    faults = [
        s["SummaryStatistics"]["FaultStatistics"]["TotalCount"]
        for s in graph
        if s["Name"] == "mysfit-MysfitsPostQuestionFunction" and "SummaryStatistics" in s
    ]
    assert max(faults, default=0) >= 1, graph
    pools = lab.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    assert [p["Name"] for p in pools] == ["mysfit-MysfitsUserPool"]
    gateway = lab.client("apigateway")
    apis = gateway.get_rest_apis()["items"]
    assert sorted(a["name"] for a in apis) == [
        "mysfit-ClickProcessingApi",
        "mysfit-MysfitsApi",
        "mysfit-QuestionsApi",
        "mysfit-RecommendationsApi",
    ]
    for api in apis:  # reruns deploy only what changed: nothing
        assert len(gateway.get_deployments(restApiId=api["id"])["items"]) == 1, api["name"]
    assert [v["name"] for v in gateway.get_vpc_links()["items"]] == ["mysfit-MysfitsApiVpcLink"]
    functions = sorted(
        f["FunctionName"] for f in lab.client("lambda").list_functions()["Functions"]
    )
    assert functions == [
        "mysfit-MysfitsClicksProcessor",
        "mysfit-MysfitsPostQuestionFunction",
        "mysfit-MysfitsProcessQuestionStreamFunction",
        "mysfit-MysfitsRecommendationsFunction",
    ]
    streams = lab.client("firehose").list_delivery_streams()["DeliveryStreamNames"]
    assert streams == ["mysfit-MysfitsFireHoseToS3"]
    mappings = lab.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert len(mappings) == 1
    topics = lab.client("sns").list_topics()["Topics"]
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in topics] == [
        "mysfit-MythicalMysfitsQuestionsTopic"
    ]
    assert len(lab.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]) == 1
    assert len(lab.client("sagemaker").list_endpoints()["Endpoints"]) == 1
    store = OutputsStore(learner_dir("mysfit") / "outputs.json", "mysfit")
    assert requests.get(f"{store.get('website.url')}/", timeout=10).status_code == 200
    assert store.get("recommendations.endpoint_name") == "mysfit-knn-ml-m4-xlarge"
    assert store.get("data.table") == "mysfit-MysfitsTable"
    listing = requests.get(f"{store.get('service.url')}/mysfits", timeout=10).json()["mysfits"]
    assert len(listing) == 12, "the service reads the table after the reruns too"
    through_api = requests.get(f"{store.get('api.url')}/mysfits", timeout=10).json()["mysfits"]
    assert len(through_api) == 12
    config = requests.get(f"{store.get('website.url')}/config.js", timeout=10).text
    assert store.get("api.url") in config and store.get("users.client_id") in config


def test_cli_run_reports_the_failing_notebook_and_cell(tmp_path):
    broken = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('target = "local"\nregion = "us-east-1"\nlearner = "mysfit"')
    params.metadata["tags"] = ["parameters"]
    broken.cells = [params, nbformat.v4.new_code_cell("raise ValueError('the bucket is on fire')")]
    nbformat.write(broken, tmp_path / "00-setup.ipynb")
    # Its own folders and its own cloud (the runner starts one before the first notebook).
    env = os.environ | {
        "MYSFITS_LAB_NOTEBOOKS": str(tmp_path),
        "MYSFITS_LAB_HOME": str(tmp_path / "home"),
        "MYSFITS_LAB_RUNS": str(tmp_path / "runs"),
        "MYSFITS_LAB_EDGE_PORT": str(free_port()),
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mysfits_lab.cli", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        subprocess.run(
            [sys.executable, "-m", "mysfits_lab.cli", "cloud", "down"], env=env, timeout=60
        )
    assert result.returncode == 1
    # cell numbers are execution counts in the executed notebook (after papermill's injected cell)
    assert "FAILED: 00-setup at cell [3]: ValueError: the bucket is on fire" in result.stdout
