"""An instructor's batch: the workbook run for a whole class, a few learners at a time.

Each learner runs in its own worker process (``python -m mysfits_lab.batch worker ...``) that
calls the ordinary runner with that learner's name, so it gets its own resource prefix, its own
outputs store (``<lab home>/<learner>/outputs.json``) and its own folder of executed notebooks
(``<out>/<learner>/``); a kernel that crashes takes one learner down, not the batch. On the local
target every worker talks to the one local cloud that the batch starts before the first worker.
Nothing a worker does writes the settings file: learner, target and region are always passed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import IO, Any

from . import report as reports
from . import settings, show
from .lab import LabError, validate_learner
from .outputs import OutputsStore
from .paths import learner_dir, runs_dir

RESULT_FILE = "result.json"  # what a worker hands back, in its learner's folder
LOG_FILE = "run.log"
_TICK = 0.25  # seconds between looks at the workers

# The runner's progress lines, which a worker's log carries: "[2/9] 01-static-site ..." and
# "      ok in 3.2s". Reading them keeps the runner free of any batch-specific hook.
_STARTED_LINE = re.compile(r"^\[(\d+)/(\d+)\] (\S+) \.\.\.")
_ENDED_LINE = re.compile(r"^\s+(ok|failed) in [\d.]+s")
_TEARDOWN_LINE = "batch: teardown"


# -- planning ---------------------------------------------------------------------------------
def learner_names(count: int, prefix: str = "learner") -> list[str]:
    """``learner01`` … ``learnerNN``: numbers padded to the width of ``count`` (at least two
    digits), so the names sort in order."""
    if count < 1:
        raise LabError(f"--learners must be at least 1 (got {count})")
    width = max(2, len(str(count)))
    return [validate_learner(f"{prefix}{number:0{width}d}") for number in range(1, count + 1)]


def parse_names(text: str, source: str = "names") -> list[str]:
    """Learner names, one a line; blank lines and ``#`` comments are ignored. A bad or repeated
    name is refused with the line it is on."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        try:
            validate_learner(name)
        except LabError as exc:
            raise LabError(f"{source}, line {number}: {exc}") from None
        if name in seen:
            raise LabError(
                f"{source}, line {number}: learner {name!r} is already on line {seen[name]}; "
                "two runs under one name would share (and overwrite) one learner's resources"
            )
        seen[name] = number
        names.append(name)
    if not names:
        raise LabError(f"{source} names no learners (one name a line; # starts a comment)")
    return names


def read_names(path: str | Path) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise LabError(f"cannot read the learner names from {path}: {exc.strerror}") from None
    return parse_names(text, str(path))


def default_out() -> Path:
    return runs_dir() / f"batch-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


@dataclass(frozen=True)
class BatchPlan:
    learners: list[str]
    notebooks: list[str]
    target: str
    region: str
    parallel: int
    out: Path
    teardown: bool = False


def plan_batch(
    learners: Sequence[str],
    parallel: int,
    target: str | None = None,
    region: str | None = None,
    only: Sequence[str] | None = None,
    out: str | Path | None = None,
    teardown: bool = False,
) -> BatchPlan:
    """Check everything before a single notebook runs: names, target, region, notebooks, and
    that ``out`` does not already hold one of these learners' runs."""
    from .runner import select

    if parallel < 1:
        raise LabError(f"--parallel must be at least 1 (got {parallel})")
    for name in learners:
        validate_learner(name)
    chosen = settings.resolve(target=target, region=region)
    notebooks = select(only=list(only) if only else None)
    if not notebooks:
        from .paths import notebooks_dir

        raise LabError(f"no workbook notebooks to run in {notebooks_dir()}")
    folder = Path(out) if out else default_out()
    taken = [name for name in learners if (folder / name).exists()]
    if taken or (folder / "report.csv").exists():
        raise LabError(
            f"{folder} already holds a batch ({', '.join(taken) or 'report.csv'}); "
            "choose another --out, or leave it out for a new timestamped folder"
        )
    return BatchPlan(
        list(learners),
        notebooks,
        chosen.target,
        chosen.region,
        min(parallel, len(learners)),
        folder,
        teardown,
    )


# -- what a finished learner left -------------------------------------------------------------
def first_error(path: Path) -> tuple[int | None, str] | None:
    """The first cell with an error output in an executed notebook: (execution count, message)."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return None
    for cell in cells:
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if output.get("output_type") == "error":
                return cell.get("execution_count"), f"{output.get('ename')}: {output.get('evalue')}"
    return None


def outputs_count(learner: str) -> int:
    """Values in the learner's outputs store, without the connection details every run records."""
    store = OutputsStore(learner_dir(learner) / "outputs.json", learner)
    try:
        return sum(1 for entry in store.entries() if not entry["output"].startswith("lab."))
    except ValueError:  # a half-written file from a killed worker
        return 0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # the command name may hold spaces and parentheses: the parent pid follows the last ")"
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return 0  # a kernel thread or zombie: no resident set


def tree_memory_kb(pid: int) -> tuple[int, int] | None:
    """Resident memory (KiB) of ``pid`` and all its descendants, and how many processes that is;
    None when ``pid`` is gone or /proc is not there."""
    if _rss_kb(pid) is None:
        return None
    tree, total, count = _children(), 0, 0
    pending = [pid]
    while pending:
        current = pending.pop()
        rss = _rss_kb(current)
        if rss is None:
            continue
        total, count = total + rss, count + 1
        pending.extend(tree.get(current, []))
    return total, count


# -- teardown ---------------------------------------------------------------------------------
def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def teardown_summary(results: Iterable[Any]) -> str:
    """``ok``, or ``failed: <module>/<step>: <error>; ...`` from teardown step results (objects
    or dicts with ``module``, ``step``, ``error``). A step retried later counts as it ended."""
    last: dict[tuple[str, str], Any] = {}
    for item in results:
        last[(str(_field(item, "module") or ""), str(_field(item, "step") or ""))] = item
    failures = []
    for (module, step), item in last.items():
        error = _field(item, "error") or (
            _field(item, "status") if _field(item, "status") in ("failed", "error") else ""
        )
        if error:
            where = "/".join(part for part in (module, step) if part) or "teardown"
            failures.append(f"{where}: {error}")
    return "ok" if not failures else "failed: " + "; ".join(failures)


def teardown_learner(target: str, region: str, learner: str) -> str:
    """Remove the learner's resources; returns ``ok`` or what failed."""
    from .lab import Lab

    try:
        lab = Lab.connect(target=target, region=region, learner=learner)
    except Exception as exc:  # noqa: BLE001 - reported in the batch report, not raised
        return f"failed: cannot connect: {type(exc).__name__}: {exc}"
    if find_spec("mysfits_lab.steps.teardown") is not None:
        from .steps import teardown as whole

        try:
            return teardown_summary(whole.teardown(lab))
        except Exception as exc:  # noqa: BLE001
            return f"failed: {type(exc).__name__}: {exc}"
    # Without the class-wide teardown: each module's own, newest module first, so nothing is
    # removed while a later module still uses it.
    from .workbook import MODULES

    results = []
    for row in reversed(MODULES):
        if not row.steps:
            continue
        remove = getattr(import_module(f"mysfits_lab.steps.{row.steps}"), "teardown", None)
        if remove is None:
            continue
        try:
            remove(lab)
            results.append({"module": row.notebook, "step": row.steps, "error": ""})
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
            results.append({"module": row.notebook, "step": row.steps, "error": error})
    return teardown_summary(results)


# -- the worker: one learner, in its own process ----------------------------------------------
def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)  # the batch never reads half a result


def run_learner(
    learner: str,
    target: str,
    region: str,
    notebooks: list[str],
    out: Path,
    teardown: bool = False,
) -> dict[str, Any]:
    """Run one learner's notebooks into ``out/<learner>/`` and write its ``result.json``."""
    from .runner import print_summary, run_notebooks

    folder = out / learner
    folder.mkdir(parents=True, exist_ok=True)
    # The runner writes to <runs>/<learner>/<timestamp>/; with <runs> = out that is inside the
    # learner's folder, and the notebooks move up one level once the run is over.
    os.environ["MYSFITS_LAB_RUNS"] = str(out)
    result = run_notebooks(learner=learner, target=target, region=region, only=notebooks)
    for item in result.runs:
        if item.output_path and item.output_path.exists():
            moved = folder / item.output_path.name
            os.replace(item.output_path, moved)
            item.output_path = moved
    with contextlib.suppress(OSError):
        result.folder.rmdir()
    result.folder = folder
    print_summary(result)
    rows = []
    for item in result.runs:
        error, cell = item.error or "", item.failed_cell
        if item.status == "failed" and cell is None and item.output_path:
            found = first_error(item.output_path)  # a kernel that died has no exec count
            if found:
                cell = found[0]
                error = error or found[1]
        rows.append(
            {
                "notebook": item.notebook,
                "status": item.status,
                "seconds": round(item.seconds, 2) if item.status != "skipped" else None,
                "path": (
                    item.output_path.relative_to(out).as_posix()
                    if item.output_path and item.output_path.exists()
                    else None
                ),
                "error": error,
                "cell": cell,
            }
        )
    data: dict[str, Any] = {"learner": learner, "notebooks": rows, "teardown": None}
    if teardown:
        print(f"\n{_TEARDOWN_LINE} of learner {learner} ...", flush=True)
        data["teardown"] = teardown_learner(target, region, learner)
        print(f"teardown: {data['teardown']}", flush=True)
    _write_json(folder / RESULT_FILE, data)
    return data


def _worker_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mysfits_lab.batch worker")
    parser.add_argument("--learner", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--only", required=True, help="comma-separated notebook names")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--teardown", action="store_true")
    args = parser.parse_args(argv)
    data = run_learner(
        args.learner,
        args.target,
        args.region,
        args.only.split(","),
        args.out,
        teardown=args.teardown,
    )
    ok = all(row["status"] == "ok" for row in data["notebooks"])
    return 0 if ok and data["teardown"] in (None, "ok") else 1


# -- the batch: start workers, follow them, collect ---------------------------------------
@dataclass
class _Worker:
    learner: str
    total: int
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    log_path: Path | None = None
    offset: int = 0
    partial: bytes = b""
    started_at: str = ""
    started: float = 0.0
    finished: float | None = None
    state: str = "waiting"  # waiting, running, teardown, ok, failed
    done: int = 0
    current: str = ""

    @property
    def elapsed(self) -> float:
        if not self.started:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    def describe(self) -> str:
        seconds = f"{self.elapsed:.0f}s"
        if self.state == "running":  # no notebook yet: the worker is importing papermill, ...
            return f"{self.current or 'starting'} {seconds}"
        if self.state == "failed":
            return f"failed at {self.current} after {seconds}" if self.current else "failed"
        if self.state == "ok":
            return f"ok in {seconds}"
        return f"{self.state} {seconds}" if self.started else self.state

    def read_log(self) -> None:
        """Follow the runner's progress lines in the worker's log."""
        if not self.log_path:
            return
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError:
            return
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        for raw in lines:
            line = raw.decode(errors="replace")
            started = _STARTED_LINE.match(line)
            if started:
                self.current = started.group(3)
            elif _ENDED_LINE.match(line) and line.split()[0] == "ok":
                self.done += 1
            elif line.startswith(_TEARDOWN_LINE):
                self.state, self.current = "teardown", ""


class _Display:
    """One line per learner: a tqdm bar each on a terminal, a plain line per change elsewhere."""

    def __init__(self, workers: list[_Worker], live: bool | None = None):
        self.workers = workers
        self.live = sys.stderr.isatty() if live is None else live
        self.bars: dict[str, Any] = {}
        self.shown: dict[str, Any] = {}
        if self.live:
            from tqdm import tqdm

            width = max(len(w.learner) for w in workers)
            for position, worker in enumerate(workers):
                self.bars[worker.learner] = tqdm(
                    total=worker.total,
                    desc=worker.learner.ljust(width),
                    position=position,
                    leave=True,
                    bar_format="{desc} {bar:16} {n_fmt}/{total_fmt}{postfix}",
                    dynamic_ncols=True,
                )

    def update(self) -> None:
        for worker in self.workers:
            if self.live:
                text = (worker.done, worker.describe())
                if self.shown.get(worker.learner) != text:  # redraw only what changed
                    self.shown[worker.learner] = text
                    bar = self.bars[worker.learner]
                    bar.n = worker.done
                    bar.set_postfix_str(text[1], refresh=False)
                    bar.refresh()
                continue
            # a line when a learner moves on, not every tick
            key = (worker.state, worker.current, worker.done)
            if worker.state != "waiting" and self.shown.get(worker.learner) != key:
                self.shown[worker.learner] = key
                print(
                    f"{worker.learner}: {worker.done}/{worker.total} {worker.describe()}",
                    flush=True,
                )

    def close(self) -> None:
        self.update()
        for bar in self.bars.values():
            bar.close()


def _start(worker: _Worker, plan: BatchPlan) -> None:
    folder = plan.out / worker.learner
    folder.mkdir(parents=True, exist_ok=True)
    worker.log_path = folder / LOG_FILE
    worker.log = open(worker.log_path, "wb")  # noqa: SIM115 - closed when the worker ends
    command = [
        sys.executable,
        "-m",
        "mysfits_lab.batch",
        "worker",
        "--learner",
        worker.learner,
        "--target",
        plan.target,
        "--region",
        plan.region,
        "--only",
        ",".join(plan.notebooks),
        "--out",
        str(plan.out.resolve()),
    ]
    if plan.teardown:
        command.append("--teardown")
    worker.started_at = datetime.now(UTC).isoformat(timespec="seconds")
    worker.started = time.monotonic()
    worker.state = "running"
    worker.process = subprocess.Popen(
        command,
        stdout=worker.log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=os.environ | {"PYTHONUNBUFFERED": "1", "MYSFITS_LAB_PLAIN": "1"},
        # its own process group: the batch stops a worker with its kernels, and a Ctrl-C in
        # the terminal reaches the batch only, which then stops them
        start_new_session=True,
    )


def _stop(worker: _Worker, grace: float = 10.0) -> None:
    process = worker.process
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _last_line(path: Path | None) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except (OSError, AttributeError):
        return ""
    return lines[-1].strip() if lines else ""


def _recover(worker: _Worker, plan: BatchPlan, code: int | None) -> list[reports.NotebookResult]:
    """A worker that died without its result: read what its executed notebooks show."""
    folder = plan.out / worker.learner
    results: list[reports.NotebookResult] = []
    broken = False
    for notebook in plan.notebooks:
        if broken:
            results.append(reports.NotebookResult(notebook, "skipped"))
            continue
        found = sorted(folder.rglob(f"{notebook}.ipynb"))
        path = found[-1].relative_to(plan.out).as_posix() if found else None
        error = first_error(found[-1]) if found else None
        finished = found and _papermill_ended(found[-1])
        if found and finished and error is None:
            results.append(reports.NotebookResult(notebook, "ok", path=path))
            continue
        broken = True
        if code is None:
            why = "the batch was interrupted"
        elif code < 0:
            why = f"the worker was killed (signal {-code})"
        else:
            why = f"the worker exited with code {code}"
        last = _last_line(worker.log_path)
        if last and not _STARTED_LINE.match(last):  # the log's last word, when it says more
            why = f"{why}: {last}"
        message = error[1] if error else f"{why}; see {worker.learner}/{LOG_FILE}"
        cell = error[0] if error else None
        results.append(reports.NotebookResult(notebook, "failed", None, path, message, cell))
    return results


def _papermill_ended(path: Path) -> bool:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("papermill", {})
    except (OSError, ValueError, KeyError):
        return False
    return bool(meta.get("end_time"))


def _collect(worker: _Worker, plan: BatchPlan, code: int | None) -> reports.LearnerResult:
    folder = plan.out / worker.learner
    learner = reports.LearnerResult(
        worker.learner,
        seconds=worker.elapsed,
        started=worker.started_at,
        log=f"{worker.learner}/{LOG_FILE}" if worker.log_path else None,
    )
    try:
        data = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if data:
        learner.notebooks = [
            reports.NotebookResult(
                row["notebook"],
                row["status"],
                row.get("seconds"),
                row.get("path"),
                row.get("error") or "",
                row.get("cell"),
            )
            for row in data["notebooks"]
        ]
        learner.teardown = data.get("teardown")
    elif worker.process is None:
        learner.notebooks = [reports.NotebookResult(nb, "skipped") for nb in plan.notebooks]
        learner.teardown = "not run" if plan.teardown else None
    else:
        learner.notebooks = _recover(worker, plan, code)
        learner.teardown = "not run" if plan.teardown else None
    learner.outputs = outputs_count(worker.learner)
    return learner


@dataclass
class BatchOutcome:
    report: reports.BatchReport
    csv_path: Path
    html_path: Path
    interrupted: bool = False
    results: dict[str, reports.LearnerResult] = field(default_factory=dict)


def run_batch(plan: BatchPlan, live: bool | None = None) -> BatchOutcome:
    """Run every learner of ``plan``, ``plan.parallel`` at a time; write the reports."""
    plan.out.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    print(
        f"Batch of {len(plan.learners)} learner{'s' * (len(plan.learners) != 1)}, "
        f"{plan.parallel} at a time, {len(plan.notebooks)} notebook"
        f"{'s' * (len(plan.notebooks) != 1)} each, on {plan.target} in {plan.region}; "
        f"into {plan.out}",
        flush=True,
    )
    if plan.target == "local":
        from .localcloud import control

        # Once, before any worker: workers that each found no cloud would race to start one.
        cloud = control.up(region=plan.region)
        print(f"local cloud {cloud.instance_id} at {cloud.edge_url} (pid {cloud.pid})", flush=True)

    workers = [_Worker(name, len(plan.notebooks)) for name in plan.learners]
    waiting = deque(workers)
    running: list[_Worker] = []
    results: dict[str, reports.LearnerResult] = {}
    display = _Display(workers, live)
    interrupted = False
    try:
        while waiting or running:
            while waiting and len(running) < plan.parallel:
                worker = waiting.popleft()
                _start(worker, plan)
                running.append(worker)
            for worker in list(running):
                worker.read_log()
                code = worker.process.poll() if worker.process else None
                if code is None:
                    continue
                worker.finished = time.monotonic()
                worker.read_log()
                if worker.log:
                    worker.log.close()
                running.remove(worker)
                learner = results[worker.learner] = _collect(worker, plan, code)
                worker.state = "ok" if learner.ok else "failed"
                worker.current = learner.failed.notebook if learner.failed else ""
            display.update()
            if waiting or running:
                time.sleep(_TICK)
    except KeyboardInterrupt:
        interrupted = True
        for worker in running:
            _stop(worker)
            worker.finished = time.monotonic()
            worker.state = "failed"
            if worker.log:
                worker.log.close()
            results[worker.learner] = _collect(worker, plan, None)
    finally:
        display.close()

    report = reports.BatchReport(
        target=plan.target,
        region=plan.region,
        notebooks=plan.notebooks,
        # a learner never started (the batch was interrupted) shows as skipped
        learners=[results.get(w.learner) or _collect(w, plan, None) for w in workers],
        wall_seconds=time.monotonic() - started,
        started=started_at,
        parallel=plan.parallel,
        teardown=plan.teardown,
    )
    if plan.target == "local":
        from .localcloud import control

        pid = control.status().pid
        memory = tree_memory_kb(pid) if pid else None
        if memory:
            report.cloud_memory_kb, report.cloud_processes = memory
    csv_path, html_path = reports.write(report, plan.out)
    return BatchOutcome(report, csv_path, html_path, interrupted, results)


def print_outcome(outcome: BatchOutcome) -> None:
    report = outcome.report
    print()
    show.table(reports.summary_rows(report), title="Class batch")
    print(f"\n{reports.summary_line(report)}")
    memory = reports.memory_line(report)
    if memory:
        print(memory)
    if outcome.interrupted:
        print("Interrupted: learners not finished are reported as failed or skipped.")
    print(f"\nReport: {outcome.html_path}\n        {outcome.csv_path}")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mysfits_lab.batch worker ...``: what the batch starts for each learner."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "worker":
        print("usage: python -m mysfits_lab.batch worker --learner L ... (see mysfits-lab batch)")
        return 2
    from .localcloud.control import CloudError

    try:
        return _worker_main(args[1:])
    except (LabError, CloudError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
