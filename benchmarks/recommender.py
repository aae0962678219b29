"""The k-NN recommender: data generation, training, endpoint latency, evaluation speed, accuracy.

Module 07's path on a fresh local cloud (the cloud in its own process, as ``Lab.connect`` starts
it): the SDK trains and deploys, boto3 measures single-row latency through the edge, and
``rec.evaluate`` sends every test row through the same endpoint.
"""

from __future__ import annotations

import contextlib
import io
import time

import numpy as np

from benchmarks.common import isolated_cloud, percentile

SINGLE_ROWS = 1000  # single-row InvokeEndpoint calls measured (after 100 warm-up calls)


def run() -> list[tuple[str, str]]:
    from mysfits_lab import Lab
    from mysfits_lab.recommender import generator
    from mysfits_lab.steps import recommendations as rec

    figures = []
    started = time.monotonic()
    dataset = generator.generate(rows=1_000_000, seed=0)
    figures.append(("generate 1,000,000 rows", f"{time.monotonic() - started:.2f} s"))
    with isolated_cloud():
        lab = Lab.connect()
        train_rows, test_rows = rec.split(dataset, 0)
        uris = rec.upload(lab, train_rows, test_rows)
        import sagemaker  # noqa: F401 - a kernel imports the SDK once; not part of the figures

        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):  # the job's status lines and log
            estimator = rec.train(lab, uris)
        figures.append(
            (
                "training job, 900k rows, sample_size=100000 (rec.train: submit to Completed)",
                f"{time.monotonic() - started:.1f} s",
            )
        )
        job = lab.client("sagemaker").describe_training_job(
            TrainingJobName=estimator.latest_training_job.name
        )
        transitions = job["SecondaryStatusTransitions"]
        figures.append(
            (
                "  of which the job itself (CreationTime to Completed)",
                f"{(transitions[-1]['StartTime'] - job['CreationTime']).total_seconds():.1f} s "
                f"({' > '.join(t['Status'] for t in transitions)})",
            )
        )
        started = time.monotonic()
        predictor = rec.deploy(lab, estimator)
        figures.append(("deploy (rec.deploy: to InService)", f"{time.monotonic() - started:.1f} s"))

        runtime = lab.client("sagemaker-runtime")
        name = predictor.endpoint_name
        latencies = []
        for row in test_rows[: SINGLE_ROWS + 100, :-1]:
            began = time.perf_counter()
            runtime.invoke_endpoint(
                EndpointName=name,
                ContentType="text/csv",
                Accept="application/json",
                Body=",".join(map(str, row)).encode(),
            )["Body"].read()
            latencies.append((time.perf_counter() - began) * 1000)
        latencies = latencies[100:]
        figures.append(
            (
                f"InvokeEndpoint, 1 row, through the edge (boto3, {SINGLE_ROWS} calls)",
                f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms",
            )
        )

        started = time.monotonic()
        result = rec.evaluate(predictor, dataset, test_rows, train_rows)
        seconds = time.monotonic() - started
        figures.append(
            (
                f"evaluation, {result.rows:,} test rows through the endpoint (rec.evaluate)",
                f"{seconds:.2f} s = {result.rows / seconds:,.0f} rows/s",
            )
        )
        figures.append(
            (
                "  the same rows as one RecordIO-protobuf request and response",
                _protobuf_rate(runtime, name, test_rows[:, :-1]),
            )
        )
        figures.append(
            (
                "test accuracy / Bayes ceiling",
                f"{result.accuracy:.4f} / {result.bayes_ceiling:.4f} = "
                f"{result.accuracy / result.bayes_ceiling:.1%}",
            )
        )
        figures.append(("majority-class baseline", f"{result.baseline:.4f}"))
    return figures


def _protobuf_rate(runtime: object, name: str, rows: np.ndarray) -> str:
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, rows.astype("float32"))
    began = time.perf_counter()
    answer = runtime.invoke_endpoint(  # type: ignore[attr-defined]
        EndpointName=name,
        ContentType="application/x-recordio-protobuf",
        Accept="application/x-recordio-protobuf",
        Body=buffer.getvalue(),
    )["Body"].read()
    seconds = time.perf_counter() - began
    return f"{seconds:.2f} s = {len(rows) / seconds:,.0f} rows/s ({len(answer):,} bytes back)"
