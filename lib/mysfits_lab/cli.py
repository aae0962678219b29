"""The mysfits-lab command line: the local cloud, settings, workbook runs, outputs and data."""

from __future__ import annotations

import argparse
import json
import sys

from . import settings, show
from .lab import TARGETS, LabError
from .localcloud.control import CloudError
from .outputs import OutputsStore
from .paths import learner_dir

_SETTING_HELP = "(default: from `mysfits-lab settings`)"


def _cloud(args: argparse.Namespace) -> int:
    from .localcloud import control

    if args.action == "up":
        status = control.up(port=args.port, region=settings.resolve().region)
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
                f"since {status.started_at})\n"
            )
            rows = control.listeners(status.details or {})
            if rows:
                show.table(rows, title="Listeners (each on its own local port)")
            else:
                print("no websites or load balancers yet")
        else:
            print("not running (start it with `mysfits-lab cloud up`)")
        return 0 if status.running or args.json else 3
    elif args.action == "logs":
        print(control.tail_log(args.lines))
    return 0


def _settings(args: argparse.Namespace) -> int:
    changes = {"learner": args.learner, "region": args.region, "target": args.target}
    if any(value is not None for value in changes.values()):
        settings.save(**changes)
        print(f"saved to {settings.settings_file()}")
    show.table(settings.describe(), title="Settings used by `mysfits-lab` and `Lab.connect`")
    return 0


def _outputs(args: argparse.Namespace) -> int:
    learner = settings.resolve(learner=args.learner).learner
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


def _outbox(args: argparse.Namespace) -> int:
    from . import outbox
    from .localcloud import control

    status = control.status()
    if not status.running or not status.edge_url:
        raise CloudError("the local cloud is not running: start it with `mysfits-lab cloud up`")
    found = outbox.messages(status.edge_url, to=args.to)
    if args.json:
        print(json.dumps(found, indent=2))
    elif not found:
        print(f"no emails to {args.to} yet" if args.to else "no emails sent yet")
    else:
        rows = [
            {
                "time": message.get("time", ""),
                "to": message.get("to", ""),
                "subject": message.get("subject", ""),
                "body": (message.get("body", "").strip().splitlines() or [""])[0],
            }
            for message in found
        ]
        show.table(rows, ["time", "to", "subject", "body"], title="Emails the local cloud sent")
    return 0


def _run(args: argparse.Namespace) -> int:
    from .runner import print_summary, run_notebooks

    only = args.only.split(",") if args.only else None
    result = run_notebooks(
        learner=args.learner, target=args.target, region=args.region, start=args.start, only=only
    )
    print_summary(result)
    return 0 if result.ok else 1


def _batch(args: argparse.Namespace) -> int:
    from .batch import learner_names, plan_batch, print_outcome, read_names, run_batch

    names = read_names(args.names) if args.names else learner_names(args.learners)
    plan = plan_batch(
        names,
        args.parallel,
        target=args.target,
        region=args.region,
        only=args.only.split(",") if args.only else None,
        out=args.out,
        teardown=args.teardown,
    )
    outcome = run_batch(plan)
    print_outcome(outcome)
    if outcome.interrupted:
        return 130
    return 0 if outcome.report.failed_count == 0 else 1


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number is needed, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


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


def _teardown(args: argparse.Namespace) -> int:
    from .lab import Lab
    from .steps import teardown

    lab = Lab.connect(target=args.target, region=args.region, learner=args.learner)
    before = teardown.inventory(lab)
    show.table(
        teardown.rows(lab, before), title=f"{len(before)} resources of learner {lab.learner}"
    )
    if not lab.is_local and before:
        print(f"Together about {teardown.hourly_total(before):.3f} USD per hour on AWS.")
    if args.dry_run or not before:
        print("Dry run: nothing was removed." if args.dry_run else "Nothing to remove.")
        return 0
    if not args.yes:
        answer = input(f"Delete these {len(before)} resources of {lab.learner}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was removed.")
            return 1
    results = teardown.teardown(lab, progress=lambda step: print("removing", step, flush=True))
    show.table(teardown.result_rows(results), title="What each step removed")
    result = teardown.check(lab, removed=True)
    if result.left:
        show.table(teardown.rows(lab, result.left), title="Still there")
    print(result.summary())
    return 0 if result.ok else 1


def _add_connection_options(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument("--learner", help=f"learner name to {verb} {_SETTING_HELP}")
    parser.add_argument("--target", choices=TARGETS, help=f"local or aws {_SETTING_HELP}")
    parser.add_argument("--region", help=f"AWS region, e.g. us-east-1 {_SETTING_HELP}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mysfits-lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    cloud = sub.add_parser(
        "cloud",
        help="start, stop or inspect the embedded local cloud",
        description="Start, stop or inspect the embedded local cloud.",
    )
    cloud.add_argument(
        "action",
        choices=["up", "down", "status", "logs"],
        help="up: start it (if not running); down: stop it; status: where it listens, with "
        "every website and load balancer listener; logs: its last log lines",
    )
    cloud.add_argument("--json", action="store_true", help="print the status as JSON")
    cloud.add_argument(
        "--port",
        type=int,
        default=None,
        help="edge port for `up` (default: MYSFITS_LAB_EDGE_PORT, else 4577)",
    )
    cloud.add_argument(
        "-n", "--lines", type=int, default=50, help="how many log lines `logs` shows (default: 50)"
    )
    cloud.set_defaults(func=_cloud)

    setting = sub.add_parser(
        "settings",
        help="show or set the learner, target and region used everywhere",
        description="Show the learner, target and region that `mysfits-lab` and every notebook "
        "use when not told otherwise; with options, change them first.",
    )
    setting.add_argument("--learner", help="learner name: prefixes every resource name")
    setting.add_argument("--target", choices=TARGETS, help="local (embedded cloud) or aws")
    setting.add_argument("--region", help="AWS region, e.g. us-east-1")
    setting.set_defaults(func=_settings)

    outputs = sub.add_parser(
        "outputs",
        help="what the notebooks recorded for a learner",
        description="Show the values the notebooks recorded for a learner.",
    )
    outputs.add_argument("--learner", help=f"whose outputs to show {_SETTING_HELP}")
    outputs.add_argument("--json", action="store_true", help="print them as JSON")
    outputs.set_defaults(func=_outputs)

    mail = sub.add_parser(
        "outbox",
        help="the emails the local cloud sent (Cognito verification codes, ...)",
        description="Show the emails the local cloud sent, oldest first: Cognito verification "
        "codes and other notifications it would have emailed on AWS.",
    )
    mail.add_argument("--to", metavar="ADDRESS", help="only the emails to this address")
    mail.add_argument("--json", action="store_true", help="print them as JSON")
    mail.set_defaults(func=_outbox)

    run = sub.add_parser(
        "run",
        help="execute the workbook's notebooks with papermill",
        description="Execute the workbook's notebooks in order with papermill and print a "
        "summary; executed notebooks go to runs/<learner>/<timestamp>/.",
    )
    _add_connection_options(run, "run as")
    run.add_argument(
        "--from", dest="start", metavar="NOTEBOOK", help="start at this notebook (e.g. 02a)"
    )
    run.add_argument(
        "--only", metavar="NOTEBOOKS", help="comma-separated notebooks to run (e.g. 00,01)"
    )
    run.set_defaults(func=_run)

    remove = sub.add_parser(
        "teardown",
        help="list a learner's resources and delete them all, proving nothing is left",
        description="List every resource of a learner (by name and by tag), delete them in "
        "dependency order, and list again. Only that learner's resources are touched.",
    )
    _add_connection_options(remove, "tear down")
    remove.add_argument("--dry-run", action="store_true", help="only list; delete nothing")
    remove.add_argument("--yes", action="store_true", help="do not ask before deleting")
    remove.set_defaults(func=_teardown)

    batch = sub.add_parser(
        "batch",
        help="instructors: run the workbook for a whole class and write a class report",
        description="Run the workbook for many learners, a few at a time, each in its own "
        "process under its own learner name (own resource prefix, own outputs, own executed "
        "notebooks in <out>/<learner>/); then write <out>/report.html and <out>/report.csv. "
        "On the local target all learners share one local cloud. Exit code 0 only when every "
        "learner succeeded (with --teardown, its teardown too).",
    )
    who = batch.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--learners",
        type=_positive,
        metavar="N",
        help="run N learners named learner01, learner02, ... (padded to the width of N)",
    )
    who.add_argument(
        "--names",
        metavar="FILE",
        help="run the learners named in FILE, one a line (blank lines and # comments ignored)",
    )
    batch.add_argument(
        "--parallel",
        type=_positive,
        default=2,
        metavar="P",
        help="how many learners run at the same time (default: 2)",
    )
    batch.add_argument("--target", choices=TARGETS, help=f"local or aws {_SETTING_HELP}")
    batch.add_argument("--region", help=f"AWS region, e.g. us-east-1 {_SETTING_HELP}")
    batch.add_argument(
        "--only",
        metavar="NOTEBOOKS",
        help="comma-separated notebooks to run, as for `run --only` (default: all of them)",
    )
    batch.add_argument(
        "--out",
        metavar="DIR",
        help="folder for the executed notebooks, logs and reports "
        "(default: runs/batch-<UTC timestamp>/)",
    )
    batch.add_argument(
        "--teardown",
        action="store_true",
        help="after each learner's run, pass or fail, remove that learner's resources and "
        "report what could not be removed",
    )
    batch.set_defaults(func=_batch)

    data = sub.add_parser(
        "data",
        help="the recommender's data set",
        description="Generate the recommender's questionnaire data set.",
    )
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="command")
    generate = data_sub.add_parser(
        "generate",
        help="write the questionnaire data set (csv.gz)",
        description="Write the questionnaire data set as a gzipped CSV.",
    )
    generate.add_argument(
        "--rows", type=int, default=1_000_000, help="how many rows (default: 1000000)"
    )
    generate.add_argument(
        "--seed", type=int, default=0, help="random seed: same seed, same data (default: 0)"
    )
    generate.add_argument(
        "--out",
        default="data/mysfit-preferences.csv.gz",
        help="where to write it (default: data/mysfit-preferences.csv.gz)",
    )
    generate.set_defaults(func=_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (LabError, CloudError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
