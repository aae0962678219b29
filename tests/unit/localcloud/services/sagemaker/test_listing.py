"""SageMaker List* filters, order and pages as the API reference documents them."""

from datetime import UTC, datetime

import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.sagemaker.listing import answer


def _at(second: int) -> datetime:
    return datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC)


MODELS = [
    {"ModelName": name, "ModelArn": f"arn:{name}", "CreationTime": _at(second)}
    for second, name in enumerate(["alice-knn-1", "bob-knn-1", "malice-knn-2", "alice-other"])
]
JOBS = [
    {
        "TrainingJobName": name,
        "CreationTime": _at(second),
        "LastModifiedTime": _at(second + 10),
        "TrainingJobStatus": status,
    }
    for second, (name, status) in enumerate(
        [
            ("job-a", "Completed"),
            ("job-b", "Failed"),
            ("job-c", "InProgress"),
            ("job-d", "Completed"),
        ]
    )
]


def _names(result, key="Models", field="ModelName"):
    return [entry[field] for entry in result[key]]


def test_name_contains_is_a_substring_filter():
    assert _names(answer("ListModels", MODELS, {"NameContains": "alice-knn"})) == [
        "malice-knn-2",
        "alice-knn-1",
    ]
    assert _names(answer("ListModels", MODELS, {"NameContains": "ALICE"})) == []


def test_models_are_newest_first_and_training_jobs_oldest_first_by_default():
    assert _names(answer("ListModels", MODELS, {})) == [
        "alice-other",
        "malice-knn-2",
        "bob-knn-1",
        "alice-knn-1",
    ]
    jobs = answer("ListTrainingJobs", JOBS, {})
    assert _names(jobs, "TrainingJobSummaries", "TrainingJobName") == [
        "job-a",
        "job-b",
        "job-c",
        "job-d",
    ]


def test_sort_by_name_and_status():
    by_name = answer("ListModels", MODELS, {"SortBy": "Name", "SortOrder": "Ascending"})
    assert _names(by_name) == ["alice-knn-1", "alice-other", "bob-knn-1", "malice-knn-2"]
    by_status = answer("ListTrainingJobs", JOBS, {"SortBy": "Status", "SortOrder": "Descending"})
    statuses = [j["TrainingJobStatus"] for j in by_status["TrainingJobSummaries"]]
    assert statuses == ["InProgress", "Failed", "Completed", "Completed"]


def test_creation_time_bounds():
    # ListModels: "greater than or equal" after, strictly before.
    window = {"CreationTimeAfter": _at(1), "CreationTimeBefore": _at(3).timestamp()}
    assert _names(answer("ListModels", MODELS, window)) == ["malice-knn-2", "bob-knn-1"]
    # ListTrainingJobs: "created after" the time.
    after = answer("ListTrainingJobs", JOBS, {"CreationTimeAfter": _at(1)})
    assert _names(after, "TrainingJobSummaries", "TrainingJobName") == ["job-c", "job-d"]
    modified = answer("ListTrainingJobs", JOBS, {"LastModifiedTimeBefore": _at(12)})
    assert _names(modified, "TrainingJobSummaries", "TrainingJobName") == ["job-a", "job-b"]


def test_status_equals_filters_the_real_status():
    done = answer("ListTrainingJobs", JOBS, {"StatusEquals": "Completed"})
    assert _names(done, "TrainingJobSummaries", "TrainingJobName") == ["job-a", "job-d"]
    warm = answer("ListTrainingJobs", JOBS, {"WarmPoolStatusEquals": "Available"})
    assert warm["TrainingJobSummaries"] == []


def test_pages_cover_every_entry_once_after_filtering():
    many = [
        {"ModelName": f"m-{n:02d}", "ModelArn": f"arn:{n}", "CreationTime": _at(n)}
        for n in range(25)
    ]
    seen, token, pages = [], None, 0
    while True:
        params = {"NameContains": "m-", "SortOrder": "Ascending"}
        if token:
            params["NextToken"] = token
        page = answer("ListModels", many, params)
        seen += _names(page)
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert seen == [f"m-{n:02d}" for n in range(25)] and pages == 3  # 10 by default
    assert len(answer("ListModels", many, {"MaxResults": 100})["Models"]) == 25


def test_a_forged_token_is_a_validation_error():
    with pytest.raises(ServiceError) as error:
        answer("ListModels", MODELS, {"NextToken": "not-a-token"})
    assert error.value.code == "ValidationException"
