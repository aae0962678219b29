"""The state the SageMaker provider writes over moto's answers."""

import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.sagemaker.algorithm import KNN_METRIC_DEFINITIONS
from mysfits_lab.localcloud.services.sagemaker.models import Endpoint, TrainingJob

KNN = "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"
MOTO_JOB = {
    "TrainingJobName": "job",
    "TrainingJobStatus": "Completed",
    "SecondaryStatus": "Completed",
    "FailureReason": "",
    "AlgorithmSpecification": {
        "TrainingImage": KNN,
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "test:dcg", "Regex": "x"}],
    },
    "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
}


def _job(image: str = KNN) -> TrainingJob:
    request = {
        "AlgorithmSpecification": {"TrainingImage": image},
        "OutputDataConfig": {"S3OutputPath": "s3://b/out/"},
    }
    return TrainingJob("job", "us-east-1", request, created=100.0)


def test_a_new_job_is_starting_whatever_moto_says():
    described = _job().to_api(MOTO_JOB)
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == (
        "InProgress",
        "Starting",
    )
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]] == ["Starting"]
    for absent in ("FailureReason", "TrainingEndTime", "ModelArtifacts", "FinalMetricDataList"):
        assert absent not in described
    assert described["AlgorithmSpecification"]["MetricDefinitions"] == KNN_METRIC_DEFINITIONS
    assert described["OutputDataConfig"] == {"KmsKeyId": "", "S3OutputPath": "s3://b/out"}
    assert MOTO_JOB["TrainingJobStatus"] == "Completed"  # moto's answer is not changed


def test_a_completed_job_reports_its_phases_times_and_artifact():
    job = _job()
    job.enter("Downloading", "Downloading input data", now=101.0)
    job.enter("Training", "Downloading the training image", now=102.0)
    job.enter("Training", "Training in progress.", now=103.0)
    job.record_metric("test:accuracy", 0.9, now=104.0)
    job.finish("Completed", "Training job completed", now=105.0, artifact=job.artifact_uri)
    described = job.to_api(MOTO_JOB)
    transitions = described["SecondaryStatusTransitions"]
    assert [t["Status"] for t in transitions] == [
        "Starting",
        "Downloading",
        "Training",
        "Completed",
    ]
    assert transitions[2]["StatusMessage"] == "Training in progress."
    assert (described["TrainingStartTime"], described["TrainingEndTime"]) == (101.0, 105.0)
    assert described["TrainingTimeInSeconds"] == 4
    assert described["ModelArtifacts"] == {"S3ModelArtifacts": "s3://b/out/job/output/model.tar.gz"}
    assert described["FinalMetricDataList"][0]["Value"] == 0.9
    summary = job.summary_to_api({"TrainingJobName": "job", "TrainingJobStatus": "InProgress"})
    assert (summary["TrainingJobStatus"], summary["TrainingEndTime"]) == ("Completed", 105.0)


def test_other_images_get_no_invented_metric_definitions():
    described = _job("123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1").to_api(MOTO_JOB)
    assert "MetricDefinitions" not in described["AlgorithmSpecification"]


def test_only_a_running_job_can_be_stopped():
    job = _job()
    job.request_stop(now=101.0)
    job.enter("Downloading", "ignored once stopping", now=102.0)
    assert (job.status, job.transitions[-1]["Status"]) == ("Stopping", "Stopping")
    job.finish("Stopped", "Training job stopped", now=103.0)
    with pytest.raises(ServiceError) as error:
        job.request_stop(now=104.0)
    assert error.value.code == "ValidationException"
    assert "in status Stopped" in error.value.message


def _endpoint() -> Endpoint:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
    return Endpoint("ep", "us-east-1", arn, "config-1", created=100.0)


def test_an_endpoint_deploys_nothing_until_its_model_loads():
    endpoint = _endpoint()
    moto = {"EndpointName": "ep", "EndpointStatus": "InService", "ProductionVariants": [{}]}
    described = endpoint.to_api(moto)
    assert described["EndpointStatus"] == "Creating"
    assert "ProductionVariants" not in described and "FailureReason" not in described
    with pytest.raises(ServiceError, match="Cannot update in-progress endpoint"):
        endpoint.begin_update(now=101.0)
    variant = {"VariantName": "AllTraffic", "InitialInstanceCount": 2}
    endpoint.loaded(object(), [variant], KNN, "config-1", now=102.0)
    (deployed,) = endpoint.to_api(moto)["ProductionVariants"]
    assert deployed["CurrentInstanceCount"] == 2
    assert deployed["DeployedImages"] == [{"SpecifiedImage": KNN, "ResolutionTime": 102.0}]


def test_a_failed_update_keeps_the_old_model_serving():
    endpoint = _endpoint()
    endpoint.load_failed("no model", now=101.0)
    assert endpoint.serving()[1] == "Failed"
    endpoint = _endpoint()
    model = object()
    endpoint.loaded(model, [{"VariantName": "AllTraffic"}], KNN, "config-1", now=101.0)
    endpoint.begin_update(now=102.0)
    assert endpoint.serving() == (model, "Updating", "AllTraffic")
    endpoint.load_failed("no model", now=103.0)
    assert endpoint.serving() == (model, "InService", "AllTraffic")
    assert endpoint.to_api({})["FailureReason"] == "no model"


def test_the_log_stream_is_named_once():
    endpoint = _endpoint()
    assert endpoint.stream_name("i-1") == endpoint.stream_name("i-2") == "AllTraffic/i-1"
    assert endpoint.log_stream_arn.endswith(
        "log-group:/aws/sagemaker/Endpoints/ep:log-stream:AllTraffic/i-1"
    )


def _waiter(thing, interrupted=lambda: False):
    import threading

    waiter = threading.Thread(target=thing.wait_seen, args=(60, interrupted), daemon=True)
    waiter.start()
    return waiter


def _blocks(thing) -> bool:
    """Whether ``wait_seen`` waits (a correct one waits its 60 s; it is woken afterwards)."""
    waiter = _waiter(thing)
    waiter.join(timeout=0.1)
    blocked = waiter.is_alive()
    thing.wake()
    return blocked


def _returns(thing, interrupted=lambda: False) -> bool:
    """Whether ``wait_seen`` returns well before its 60 s."""
    waiter = _waiter(thing, interrupted)
    waiter.join(timeout=10)
    return not waiter.is_alive()


def test_a_description_shows_the_job_state():
    job = _job()
    job.to_api(MOTO_JOB)
    assert job.seen == len(job.transitions)  # Starting was shown
    job.enter("Downloading", "Downloading input data", now=101.0)
    assert job.seen == len(job.transitions) - 1
    job.enter("Downloading", "a new message is no new state", now=101.5)
    assert job.seen == len(job.transitions) - 1
    job.summary_to_api({"TrainingJobName": "job"})  # a list shows no secondary status
    assert job.seen == len(job.transitions) - 1
    job.to_api(MOTO_JOB)
    assert job.seen == len(job.transitions)


def test_a_worker_waiting_to_be_seen_is_released_by_a_description_or_a_stop():
    job = _job()
    job.enter("Downloading", "Downloading input data", now=101.0)
    assert _blocks(job)
    waiter = _waiter(job)
    job.to_api(MOTO_JOB)
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    job.enter("Training", "Training", now=102.0)
    waiter = _waiter(job)
    job.request_stop(now=103.0)
    waiter.join(timeout=10)
    assert not waiter.is_alive()


def test_an_endpoint_status_is_seen_by_describe_or_list():
    endpoint = _endpoint()
    assert _blocks(endpoint)
    assert _returns(endpoint, interrupted=lambda: True)  # the cloud stopping ends the wait
    endpoint.summary_to_api({"EndpointName": "ep"})
    assert endpoint.seen and _returns(endpoint)
    endpoint.loaded(object(), [{"VariantName": "AllTraffic"}], KNN, "config-1", now=101.0)
    assert not endpoint.seen  # InService is news
    endpoint.to_api({})
    endpoint.begin_update(now=102.0)  # and so is Updating
    assert _blocks(endpoint)
    endpoint.to_api({})
    assert _returns(endpoint)
