"""The ``mysfits-lab`` command line."""

from __future__ import annotations

import argparse
import json
import sys

from . import show
from .lab import DEFAULT_LEARNER, LabError, validate_learner
from .outputs import OutputsStore
from .paths import learner_dir


def _cloud(args: argparse.Namespace) -> int:
    from .localcloud import control

    if args.action == "up":
        status = control.up(port=args.port)
        print(f"local cloud {status.instance_id} running at {status.edge_url} (pid {status.pid})")
    elif args.action == "down":
        print("local cloud stopped" if control.down() else "the local cloud was not running")
    elif args.action == "status":
        status = control.status()
        if args.json:
            print(json.dumps(status.as_dict() | (status.details or {}), indent=2, default=str))
        elif status.running:
            print(
                f"running: {status.edge_url} (instance {status.instance_id}, pid {status.pid}, "
                f"since {status.started_at})"
            )
            for bucket, url in (status.details or {}).get("websites", {}).items():
                print(f"  website {bucket}: {url}")
        else:
            print("not running (start it with `mysfits-lab cloud up`)")
        return 0 if status.running or args.json else 3
    elif args.action == "logs":
        print(control.tail_log(args.lines))
    return 0


def _outputs(args: argparse.Namespace) -> int:
    learner = validate_learner(args.learner)
    store = OutputsStore(learner_dir(learner) / "outputs.json", learner)
    if args.json:
        print(json.dumps(store.values(), indent=2, default=str))
    else:
        show.table(
            store.entries(),
            ["output", "value", "module", "recorded"],
            title=f"Outputs of learner {learner}",
        )
    return 0


def _run(args: argparse.Namespace) -> int:
    from .runner import print_summary, run_notebooks

    only = args.only.split(",") if args.only else None
    result = run_notebooks(
        learner=args.learner, target=args.target, region=args.region, start=args.start, only=only
    )
    print_summary(result)
    return 0 if result.ok else 1


def _data(args: argparse.Namespace) -> int:
    import time

    from .recommender.generator import generate, write_csv_gz

    started = time.monotonic()
    dataset = generate(rows=args.rows, seed=args.seed)
    path = write_csv_gz(dataset, args.out)
    report = dataset.report
    seconds = time.monotonic() - started
    print(f"wrote {args.rows} rows (seed {args.seed}) to {path} in {seconds:.1f}s")
    print(f"  Bayes-optimal accuracy: {report.bayes_accuracy:.4f} (the ceiling for any model)")
    print(f"  majority-class baseline: {report.majority_baseline:.4f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mysfits-lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    cloud = sub.add_parser("cloud", help="the embedded local cloud")
    cloud.add_argument("action", choices=["up", "down", "status", "logs"])
    cloud.add_argument("--json", action="store_true", help="status as JSON")
    cloud.add_argument("--port", type=int, default=None, help="edge port (default 4577)")
    cloud.add_argument("-n", "--lines", type=int, default=50, help="log lines to show")
    cloud.set_defaults(func=_cloud)

    outputs = sub.add_parser("outputs", help="what the notebooks recorded for a learner")
    outputs.add_argument("--learner", default=DEFAULT_LEARNER)
    outputs.add_argument("--json", action="store_true")
    outputs.set_defaults(func=_outputs)

    run = sub.add_parser("run", help="execute the workbook's notebooks with papermill")
    run.add_argument("--learner", default=DEFAULT_LEARNER)
    run.add_argument("--target", default="local", choices=["local", "aws"])
    run.add_argument("--region", default="us-east-1")
    run.add_argument("--from", dest="start", default=None, help="start at this notebook (e.g. 02a)")
    run.add_argument("--only", default=None, help="comma-separated notebooks to run")
    run.set_defaults(func=_run)

    data = sub.add_parser("data", help="the recommender's data set")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    generate = data_sub.add_parser("generate", help="write the questionnaire data set (csv.gz)")
    generate.add_argument("--rows", type=int, default=1_000_000)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", default="data/mysfit-preferences.csv.gz")
    generate.set_defaults(func=_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
