"""What the built-in k-NN algorithm looks like from outside: its image names, channels, metric
definitions and log line format — the facts the SageMaker SDK and console rely on."""

from __future__ import annotations

import re
import threading
import time

# The built-in algorithm's image in every region: <registry account>.dkr.ecr.<region>...
KNN_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/knn:(1|latest)$")
# What AWS reports for the built-in k-NN; the SDK and the console parse the log with these.
KNN_METRIC_DEFINITIONS = [
    {"Name": "test:mse", "Regex": r"#quality_metric: host=\S+, test mse <score>=(\S+)"},
    {"Name": "test:accuracy", "Regex": r"#quality_metric: host=\S+, test accuracy <score>=(\S+)"},
]
KNN_CHANNELS = ("train", "test")
DEFAULT_CHANNEL_CONTENT_TYPE = "application/x-recordio-protobuf"
HOST = "algo-1"  # the one training instance's host name, as in the algorithm's log lines


def is_knn_image(image: str | None) -> bool:
    return bool(image) and KNN_IMAGE.match(image or "") is not None


def knn_image_hint(region: str) -> str:
    return f"<account>.dkr.ecr.{region}.amazonaws.com/knn:1"


def algorithm_line(message: str, level: str = "INFO") -> str:
    """A log line in the built-in algorithms' format: ``[MM/DD/YYYY HH:MM:SS INFO tid] ...``."""
    stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime())
    return f"[{stamp} {level} {threading.get_ident()}] {message}"
