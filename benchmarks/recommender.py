"""The k-NN recommender: data generation, training, endpoint latency and accuracy."""

from __future__ import annotations

import time

from benchmarks.common import isolated_cloud, percentile


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
        started = time.monotonic()
        estimator = rec.train(lab, uris)
        figures.append(
            (
                "training job, 900k rows, sample_size=100000 (submit to Completed)",
                f"{time.monotonic() - started:.1f} s",
            )
        )
        predictor = rec.deploy(lab, estimator)
        runtime = lab.client("sagemaker-runtime")
        name = predictor.endpoint_name
        latencies = []
        for row in test_rows[:500, :-1]:
            began = time.perf_counter()
            runtime.invoke_endpoint(
                EndpointName=name,
                ContentType="text/csv",
                Accept="application/json",
                Body=",".join(map(str, row)).encode(),
            )
            latencies.append((time.perf_counter() - began) * 1000)
        figures.append(
            (
                "InvokeEndpoint, 1 row, through the edge",
                f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms",
            )
        )
        batch = "\n".join(",".join(map(str, r)) for r in test_rows[:1000, :-1]).encode()
        began = time.perf_counter()
        for _ in range(20):
            runtime.invoke_endpoint(
                EndpointName=name, ContentType="text/csv", Accept="application/json", Body=batch
            )
        rate = 20 * 1000 / (time.perf_counter() - began)
        figures.append(("InvokeEndpoint, 1,000-row CSV batches", f"{rate:,.0f} rows/s"))
        result = rec.evaluate(predictor, dataset, test_rows, train_rows)
        figures.append(
            (
                "test accuracy / Bayes ceiling",
                f"{result.accuracy:.4f} / {result.bayes_ceiling:.4f} = "
                f"{result.accuracy / result.bayes_ceiling:.1%}",
            )
        )
        figures.append(("majority-class baseline", f"{result.baseline:.4f}"))
    return figures
