"""`agentplane jobs submit|get|watch|cancel`: arguments, and what each command prints.

Exit codes: 0 the job completed (or the request was taken), 1 it failed or was cancelled
(or a cancel came too late), 2 a usage or connection error, with one line naming it;
130 when following was interrupted (the job keeps running).

Only argparse is imported here: `agentplane validate` builds this parser too and must stay
quick, so NATS, Redis and HTTP clients load when a command runs.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract.jobs import JOB_ID_RULE, is_valid_job_id
from functions.jobs_cli.errors import JobsError

if TYPE_CHECKING:
    from functions.jobs_cli.job_input import Submission
    from functions.jobs_cli.targets import Target
    from functions.jobs_cli.view import Sink

Work = Callable[["Sink"], Coroutine[Any, Any, int]]
INTERRUPTED = 130


def job_id(value: str) -> str:
    """An argparse type: a job id the executor accepts."""
    if not is_valid_job_id(value):
        raise argparse.ArgumentTypeError(f"{value[:64]!r} is not a job id ({JOB_ID_RULE})")
    return value


def add_jobs_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `jobs` and its subcommands to the `agentplane` parser."""
    jobs = commands.add_parser(
        "jobs",
        help="submit a job to the agent executor, follow it, get it, cancel it",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    sub = jobs.add_subparsers(dest="jobs_command", required=True)

    submit = sub.add_parser("submit", help="submit a job (a file, or just --prompt)")
    submit.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="a JobExecutionEvent or a CloudEvent"
    )
    submit.add_argument("--prompt", metavar="TEXT", help="submit this prompt instead of a file")
    submit.add_argument(
        "--definition", type=Path, metavar="FILE", help="agent definition for --prompt"
    )
    submit.add_argument(
        "--job-id", type=job_id, metavar="ID", help="the job id (default: a new one)"
    )
    submit.add_argument(
        "--model", metavar="NAME", help="model of the default definition [gpt-4o-mini]"
    )
    submit.add_argument(
        "--provider", metavar="NAME", help="provider of the default definition [openai]"
    )
    submit.add_argument("--subject", help="NATS subject [agent.execute.<job id>]")
    _where(submit, nats=True, api=True)
    submit.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the job live to its result (default: when stdout is a terminal)",
    )
    _json_flag(submit)
    submit.set_defaults(handler=submit_command)

    get = sub.add_parser("get", help="a job's ledger row (HTTP API)")
    get.add_argument("job_id", type=job_id, metavar="ID")
    _where(get, nats=False, api=True)
    _json_flag(get)
    get.set_defaults(handler=get_command)

    watch = sub.add_parser("watch", help="follow a job already submitted")
    watch.add_argument("job_id", type=job_id, metavar="ID")
    _where(watch, nats=True, api=True)
    _json_flag(watch)
    watch.set_defaults(handler=watch_command)

    cancel = sub.add_parser("cancel", help="ask the executor to stop a job")
    cancel.add_argument("job_id", type=job_id, metavar="ID")
    _where(cancel, nats=True, api=True, redis=False)
    _json_flag(cancel)
    cancel.set_defaults(handler=cancel_command)


def _where(parser: argparse.ArgumentParser, *, nats: bool, api: bool, redis: bool = True) -> None:
    group = parser.add_argument_group(
        "where the executor is",
        "secrets only from the environment: AGENTPLANE_API_TOKEN, NATS_USER / NATS_PASSWORD, "
        "REDIS_PASSWORD",
    )
    if api:
        group.add_argument(
            "--api", metavar="URL", help="the worker's HTTP API [AGENTPLANE_API_URL]"
        )
    if nats:
        group.add_argument("--nats", metavar="URL", help="NATS (JetStream) [NATS_URL]")
        group.add_argument(
            "--creds", type=Path, metavar="FILE", help="NATS creds file [NATS_CREDS]"
        )
        if redis:
            group.add_argument(
                "--redis", metavar="URL", help="Redis with the progress events [REDIS_URL]"
            )


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="JSON lines for scripts")


def _target(args: argparse.Namespace) -> Target:
    from functions.jobs_cli.targets import resolve

    return resolve(
        api=getattr(args, "api", None),
        nats=getattr(args, "nats", None),
        redis=getattr(args, "redis", None),
        creds=getattr(args, "creds", None),
    )


def _submission(args: argparse.Namespace) -> Submission:
    from functions.jobs_cli import job_input

    if (args.file is None) == (args.prompt is None):
        raise JobsError("give a job FILE or --prompt TEXT (one of them)")
    if args.file is not None:
        extra = [f for f in ("definition", "model", "provider") if getattr(args, f) is not None]
        if extra:
            raise JobsError(f"--{extra[0]} goes with --prompt; a job file names its own agent")
        return job_input.from_file(args.file, args.job_id)
    if args.definition is not None and (args.model or args.provider):
        raise JobsError(
            "--model and --provider set the default definition's; --definition has its own"
        )
    return job_input.from_prompt(
        args.prompt,
        definition=args.definition,
        job_id=args.job_id,
        model=args.model or job_input.DEFAULT_MODEL,
        provider=args.provider or job_input.DEFAULT_PROVIDER,
    )


def _sink(args: argparse.Namespace) -> Sink:
    from functions.jobs_cli.view import JsonLines, ProgressView

    # Streamed tokens may be any text; a terminal that cannot show a character gets a `?`.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    return (JsonLines if args.json else ProgressView)(sys.stdout, sys.stderr)


def _run(sink: Sink, work: Coroutine[Any, Any, int], following: str | None) -> int:
    import asyncio

    try:
        return asyncio.run(work)
    except KeyboardInterrupt:
        if following:
            sink.note(
                f"stopped following job {following}; it keeps running: `agentplane jobs watch "
                f"{following}` follows it again, `agentplane jobs cancel {following}` stops it"
            )
        return INTERRUPTED


def _fail(exc: JobsError) -> int:
    print(f"agentplane: {exc}", file=sys.stderr)
    return 2


def submit_command(args: argparse.Namespace) -> int:
    """Submit a job; follow it when asked (or when stdout is a terminal)."""
    try:
        submission = _submission(args)
        target = _target(args)
    except JobsError as exc:
        return _fail(exc)
    follow_job = args.follow if args.follow is not None else sys.stdout.isatty()
    sink = _sink(args)
    from functions.jobs_cli.targets import ApiTarget

    work: Coroutine[Any, Any, int]
    if isinstance(target, ApiTarget):
        if args.subject:
            return _fail(JobsError("--subject is for --nats; the API takes jobs at POST /jobs"))
        from functions.jobs_cli import over_http

        work = over_http.submit(target, submission, sink, follow_job=follow_job)
    else:
        from functions.jobs_cli import over_nats

        work = over_nats.submit(
            target, submission, sink, follow_job=follow_job, subject=args.subject
        )
    try:
        return _run(sink, work, submission.job_id if follow_job else None)
    except JobsError as exc:
        return _fail(exc)


def watch_command(args: argparse.Namespace) -> int:
    """Follow a job already submitted to its outcome."""
    try:
        target = _target(args)
    except JobsError as exc:
        return _fail(exc)
    sink = _sink(args)
    from functions.jobs_cli.targets import ApiTarget

    work: Coroutine[Any, Any, int]
    if isinstance(target, ApiTarget):
        from functions.jobs_cli import over_http

        work = over_http.watch(target, args.job_id, sink)
    else:
        from functions.jobs_cli import over_nats

        work = over_nats.watch(target, args.job_id, sink)
    try:
        return _run(sink, work, args.job_id)
    except JobsError as exc:
        return _fail(exc)


def get_command(args: argparse.Namespace) -> int:
    """Print a job's ledger row: 0 unless the job failed (1)."""
    import asyncio

    from functions.jobs_cli.targets import ApiTarget

    try:
        target = _target(args)
        if not isinstance(target, ApiTarget):
            raise JobsError("get reads the worker's ledger: give --api URL (or AGENTPLANE_API_URL)")
        from functions.jobs_cli import over_http

        row = asyncio.run(over_http.get(target, args.job_id))
    except JobsError as exc:
        return _fail(exc)
    finished = row.finished()
    if args.json:
        print(row.model_dump_json())
    elif finished is not None:
        from functions.jobs_cli.view import result_lines

        print("\n".join(result_lines(finished)))
    else:
        attempt = f" (attempt {row.attempts})" if row.attempts else ""
        print(f"job {row.job_id}: {row.status}{attempt}")
    return finished.exit_code if finished is not None else 0


def cancel_command(args: argparse.Namespace) -> int:
    """Ask for the job to stop: 0 requested, 1 too late (it has finished)."""
    import asyncio

    from functions.jobs_cli.targets import ApiTarget

    try:
        target = _target(args)
        if isinstance(target, ApiTarget):
            from functions.jobs_cli import over_http

            reply = asyncio.run(over_http.cancel(target, args.job_id))
        else:
            from functions.jobs_cli import over_nats

            reply = asyncio.run(over_nats.cancel(target, args.job_id))
    except JobsError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(reply.model_dump(exclude_none=True)))
    elif reply.cancel == "requested":
        print(f"cancel requested for job {reply.job_id}")
    else:
        print(f"too late to cancel job {reply.job_id}: it is {reply.status}")
    return 0 if reply.cancel == "requested" else 1
