"""An in-process local cloud with only the providers a test names."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.core.provider import Provider

CloudFactory = Callable[..., LocalCloud]


@pytest.fixture
def make_cloud(tmp_path: Path) -> Iterator[CloudFactory]:
    started: list[tuple[LocalCloud, threading.Thread]] = []

    def make(*providers: type[Provider] | str) -> LocalCloud:
        cloud = LocalCloud(0, tmp_path / f"cloud-{len(started)}", providers=list(providers))
        thread = threading.Thread(target=cloud.serve_forever, daemon=True)
        thread.start()
        started.append((cloud, thread))
        return cloud

    yield make
    for cloud, thread in started:
        cloud.shutdown()
        thread.join(timeout=10)
