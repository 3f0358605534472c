"""The ``tutorchat`` command: ``serve``, ``migrate``, ``token``, ``grade``, ``lti`` and
``loadtest``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from assessment.preview import UnknownItem, preview
from assessment.spec import AssessmentSpec
from persistence import migrate
from persistence.database import Database, database_url_from_env
from realtime.app import create_app
from realtime.auth import INSTRUCTOR, LEARNER, mint
from realtime.keys import demo_secret, minting_secret
from realtime.loadtest import LoadConfig, format_report, run_loadtest, write_json
from realtime.logs import configure_logging
from realtime.lti.commands import add_lti_commands
from realtime.server import Server, uvicorn_config
from realtime.settings import ConfigError, Settings

__all__ = ["main"]

DEMO_TUTOR_PACE = 20.0  # words per second


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    status: int = args.run(args)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutorchat", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate, then run the server")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument(
        "--demo", action="store_true", help="seed one assessment of each type (demo mode)"
    )
    serve.set_defaults(run=_serve)

    migrate_cmd = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate_cmd.add_argument("--database-url", default=None, help="default: $DATABASE_URL")
    migrate_cmd.set_defaults(run=_migrate)

    token = commands.add_parser("token", help="print a signed token (TUTORCHAT_SECRET)")
    token.add_argument("--user", required=True, help="the user id (sub)")
    token.add_argument("--course", required=True, help="the course id")
    token.add_argument("--platform", default="demo", help="the platform id (default: demo)")
    token.add_argument(
        "--role",
        action="append",
        choices=[LEARNER, INSTRUCTOR],
        help=f"repeatable; default: {LEARNER}",
    )
    token.add_argument("--hours", type=float, default=8.0, help="validity (default: 8)")
    token.set_defaults(run=_token)

    grade = commands.add_parser(
        "grade", help="the grader's verdicts on sample answers to one item, offline"
    )
    grade.add_argument(
        "config",
        help="a JSON file: {assessment_type, ai_config} (as PUT /api/assessments takes)",
    )
    grade.add_argument("--item", required=True, help="the item's id")
    grade.add_argument("answers", nargs="+", help="the sample answers")
    grade.add_argument("--json", action="store_true", help="print JSON, one verdict a line")
    grade.set_defaults(run=_grade)

    add_lti_commands(commands)

    load = commands.add_parser("loadtest", help="simulated students against a running server")
    load.add_argument("scenario", choices=["steady", "idle", "storm", "slow"])
    load.add_argument(
        "--url",
        default="http://127.0.0.1:8000",
        help="the server's base URL; several, comma-separated, spread the students over "
        "the processes of one deployment",
    )
    load.add_argument("--secret", default=None, help="default: $TUTORCHAT_SECRET")
    load.add_argument("--students", type=int, default=100)
    load.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    load.add_argument("--ramp", type=float, default=5.0, help="seconds to start everyone")
    load.add_argument("--think", type=float, default=2.0, help="mean seconds between turns")
    load.add_argument("--correct", type=float, default=0.7, help="share of right answers")
    load.add_argument("--slow-fraction", type=float, default=0.1, help="slow: non-readers")
    load.add_argument("--json", default=None, help="also write the report here")
    load.add_argument("--quiet", action="store_true", help="no live progress line")
    load.set_defaults(run=_loadtest)
    return parser


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.demo:
        settings = dataclasses.replace(settings, demo=True)
        if "TUTORCHAT_TUTOR_PACE" not in os.environ:
            # The demo shows a reply streaming (and Stop) at a pace one can read.
            settings = dataclasses.replace(settings, tutor_pace=DEMO_TUTOR_PACE)
    configure_logging()
    if settings.demo and not settings.secrets:
        secret = demo_secret(settings.database_url, create=True)
        settings = dataclasses.replace(settings, secrets=(secret,) if secret else ())
    try:
        app = create_app(settings)
    except ConfigError as wrong:
        sys.stderr.write(f"tutorchat: {wrong}\n")
        return 2
    config = uvicorn_config(app, settings, host=args.host, port=args.port, log_config=None)
    Server(config).run()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    async def run() -> str | None:
        db = Database(args.database_url or database_url_from_env())
        try:
            await migrate.upgrade(db)
            return await migrate.current_revision(db)
        finally:
            await db.dispose()

    print(f"database at revision {asyncio.run(run())}")
    return 0


def _token(args: argparse.Namespace) -> int:
    secret = minting_secret()
    if secret is None:
        return 2
    token = mint(
        secret,
        user_id=args.user,
        course_id=args.course,
        platform_id=args.platform,
        roles=args.role or [LEARNER],
        ttl=timedelta(hours=args.hours),
    )
    sys.stdout.write(token + "\n")
    return 0


def _grade(args: argparse.Namespace) -> int:
    try:
        raw = json.loads(Path(args.config).read_text())
        spec = AssessmentSpec.from_config(
            assessment_type=raw.get("assessment_type", ""),
            grading_schema=raw.get("grading_schema", "percentage"),
            mastery_threshold=raw.get("mastery_threshold", 0),
            ai_config=raw.get("ai_config", {}),
        )
        verdicts = preview(spec, args.item, args.answers)
    except (OSError, ValueError, AttributeError) as error:
        print(f"tutorchat grade: {error}", file=sys.stderr)
        return 2
    except UnknownItem:
        print(f"tutorchat grade: no item {args.item!r} in {args.config}", file=sys.stderr)
        return 2
    for verdict in verdicts:
        if args.json:
            print(json.dumps(verdict.to_json(), ensure_ascii=False))
        else:
            print(f"{verdict.verdict:8} {verdict.answer!r}: {verdict.why} [{verdict.rule}]")
    return 0


def _loadtest(args: argparse.Namespace) -> int:
    secret = args.secret or minting_secret()
    if secret is None:
        return 2
    config = LoadConfig(
        urls=tuple(url.strip().rstrip("/") for url in args.url.split(",") if url.strip()),
        secret=secret,
        scenario=args.scenario,
        students=args.students,
        duration=args.duration,
        ramp=args.ramp,
        think=args.think,
        correct=args.correct,
        slow_fraction=args.slow_fraction,
        progress=not args.quiet,
    )
    report = asyncio.run(run_loadtest(config))
    print(format_report(report))
    if args.json:
        write_json(report, args.json)
    return 0
