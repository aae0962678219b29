"""Run the workbook: execute notebooks in order with papermill and summarise the result."""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from . import settings, show
from .lab import LabError
from .outputs import OutputsStore
from .paths import learner_dir, notebooks_dir, runs_dir
from .workbook import module, notebooks


@dataclass
class NotebookRun:
    notebook: str
    status: str = "pending"
    seconds: float = 0.0
    output_path: Path | None = None
    error: str | None = None
    failed_cell: int | None = None


@dataclass
class RunResult:
    learner: str
    folder: Path
    runs: list[NotebookRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.runs)

    @property
    def failed(self) -> NotebookRun | None:
        return next((r for r in self.runs if r.status == "failed"), None)


def available() -> list[str]:
    """The workbook's notebooks that exist in the notebooks folder, in order."""
    return [name for name in notebooks() if (notebooks_dir() / f"{name}.ipynb").exists()]


def _match(name: str, names: list[str]) -> str:
    """Accept ``01``, ``01-static-site`` or ``static-site``."""
    hits = [n for n in names if n == name or n.startswith(f"{name}-") or n.endswith(f"-{name}")]
    if len(hits) != 1:
        raise LabError(f"no single notebook matches {name!r}; choose from: {', '.join(names)}")
    return hits[0]


def select(start: str | None = None, only: list[str] | None = None) -> list[str]:
    names = available()
    if only:
        wanted = {_match(n.strip(), names) for n in only if n.strip()}
        return [n for n in names if n in wanted]
    if start:
        return names[names.index(_match(start, names)) :]
    return names


# ipykernel warns on every start that local TCP is unencrypted: noise here.
_KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
# Imported into a kernel before its notebook starts, as every notebook's first cell does; the
# expression binds no name, so a notebook that forgot an import still fails as in JupyterLab.
_WARM_IMPORTS = (
    '[__import__(m) for m in ("mysfits_lab.lab", "mysfits_lab.diagrams", "mysfits_lab.show")]'
)


class _KernelStarter:
    """Starts the next notebook's kernel while the current notebook runs.

    A kernel's start and the workbook's imports take 1-2 s per notebook; most of a notebook's
    time is spent waiting on the cloud, so starting one ahead hides that cost. Each notebook
    still gets a kernel of its own, shut down after it ran.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-start")
        self._next: Future[Any] | None = None

    def prepare(self) -> None:
        if self._next is None:
            self._next = self._pool.submit(self._start)

    def take(self) -> Any:
        """A started kernel manager (started now if none was prepared)."""
        self.prepare()
        assert self._next is not None
        future, self._next = self._next, None
        return future.result()

    def close(self) -> None:
        if self._next is not None:
            _shutdown(self._next.result())
            self._next = None
        self._pool.shutdown()

    @staticmethod
    def _start() -> Any:
        from jupyter_client.manager import KernelManager

        manager = KernelManager(kernel_name="python3")
        manager.start_kernel(cwd=str(notebooks_dir()), extra_arguments=_KERNEL_ARGUMENTS)
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            client.execute_interactive(_WARM_IMPORTS, silent=True, store_history=False, timeout=60)
        except Exception:  # the notebook's own run reports a kernel that does not work
            pass
        finally:
            client.stop_channels()
        return manager


def _shutdown(manager: Any) -> None:
    with contextlib.suppress(Exception):  # already gone
        manager.shutdown_kernel(now=True)


def _key_outputs(store: OutputsStore, notebook: str) -> str:
    values = store.values()
    shown = []
    for key in module(notebook).key_outputs:
        group, name = key.split(".")
        if name in values.get(group, {}):
            shown.append(f"{key}={values[group][name]}")
    return ", ".join(shown)


def run_notebooks(
    learner: str | None = None,
    target: str | None = None,
    region: str | None = None,
    start: str | None = None,
    only: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> RunResult:
    """Run the notebooks; a learner, target or region left at None comes from the settings.
    ``extra`` papermill parameters go to every notebook that declares them (e.g.
    ``{"remove": True}`` for 99-teardown)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    chosen = settings.resolve(target=target, region=region, learner=learner)
    learner, target, region = chosen.learner, chosen.target, chosen.region
    names = select(start, only)
    print(
        f"Running {len(names)} notebook{'s' * (len(names) != 1)} for learner {learner} on "
        f"{target} in {region} (change these with `mysfits-lab settings`)",
        flush=True,
    )
    if target == "local":
        from .localcloud import control

        # Started here rather than in the first kernel: a taken port is then one clear line.
        control.up(region=region)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = runs_dir() / learner / stamp
    folder.mkdir(parents=True, exist_ok=True)
    result = RunResult(learner, folder, [NotebookRun(n) for n in names])
    os.environ["MYSFITS_LAB_PLAIN"] = "1"  # kernels inherit it: log lines, not widgets
    parameters = {"target": target, "region": region, "learner": learner, **(extra or {})}

    kernels = _KernelStarter()
    try:
        for index, item in enumerate(result.runs, start=1):
            print(f"[{index}/{len(names)}] {item.notebook} ...", flush=True)
            item.output_path = folder / f"{item.notebook}.ipynb"
            started = time.monotonic()
            kernel = None
            try:
                kernel = kernels.take()
                if index < len(names):
                    kernels.prepare()
                papermill.execute_notebook(
                    str(notebooks_dir() / f"{item.notebook}.ipynb"),
                    str(item.output_path),
                    parameters=parameters,
                    cwd=str(notebooks_dir()),
                    kernel_name="python3",
                    language="python",
                    progress_bar=False,
                    log_output=False,
                    km=kernel,
                )
                item.status = "ok"
            except PapermillExecutionError as exc:
                item.status = "failed"
                item.failed_cell = exc.exec_count
                item.error = f"{exc.ename}: {exc.evalue}"
            except Exception as exc:  # kernel did not start or died, notebook unreadable, ...
                item.status = "failed"
                item.error = f"{type(exc).__name__}: {exc}"
            finally:
                if kernel is not None:
                    _shutdown(kernel)
            item.seconds = time.monotonic() - started
            print(f"      {item.status} in {item.seconds:.1f}s", flush=True)
            if item.status == "failed":
                for later in result.runs[index:]:
                    later.status = "skipped"
                break
    finally:
        kernels.close()
    return result


def summary_rows(result: RunResult) -> list[dict[str, Any]]:
    store = OutputsStore(learner_dir(result.learner) / "outputs.json", result.learner)
    return [
        {
            "notebook": r.notebook,
            "status": r.status,
            "seconds": f"{r.seconds:.1f}" if r.status in ("ok", "failed") else "",
            "key outputs": _key_outputs(store, r.notebook) if r.status == "ok" else (r.error or ""),
        }
        for r in result.runs
    ]


def print_summary(result: RunResult) -> None:
    print()
    show.table(summary_rows(result), title=f"Workbook run for learner {result.learner}")
    print(f"\nExecuted notebooks: {result.folder}")
    failed = result.failed
    if failed:
        cell = f" at cell [{failed.failed_cell}]" if failed.failed_cell else ""
        print(
            f"\nFAILED: {failed.notebook}{cell}: {failed.error}\n"
            f"Open {failed.output_path} to see the failing cell's output."
        )
    store = OutputsStore(learner_dir(result.learner) / "outputs.json", result.learner)
    site = store.get_or("website.url")
    if not site:
        return
    problem = site_problem(site)
    if problem:
        print(f"\nThe site recorded at {site}/ does not answer ({problem}).")
    else:
        print(f"\nThe Mythical Mysfits site is running at {site}/")


def site_problem(url: str) -> str | None:
    """Why the site at ``url`` does not serve its page, or None when it does."""
    try:
        response = requests.get(f"{url}/", timeout=5)
    except requests.RequestException as exc:
        return type(exc).__name__
    return None if response.ok else f"HTTP {response.status_code}"
