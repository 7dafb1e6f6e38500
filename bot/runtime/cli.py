"""The command line: ``python run_bot.py [run|console|import|invites|staff|demo|db|calibrate]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.core.errors import StartupError
from bot.core.settings import Settings, SettingsError, load_settings
from bot.people.importer import import_candidates, render_report
from bot.people.sheet import ImportRefused
from bot.runtime.app import App
from bot.runtime.logs import setup_logging
from content import ContentError
from storage import invites, people, scores
from storage.models import Role

log = logging.getLogger("preboard")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_bot.py",
        description="Preboard: keeps accepted candidates warm between offer and first day.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "run", help="start every configured platform, or the console when none is (default)"
    )
    sub.add_parser(
        "console", help="chat with the bot in this terminal (reads a script from a pipe)"
    )
    p_import = sub.add_parser("import", help="import candidates from a CSV or XLSX file")
    p_import.add_argument("file", type=Path)
    p_import.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    p_inv = sub.add_parser("invites", help="list candidates with their open invite codes")
    p_inv.add_argument("--format", choices=("table", "csv"), default="table")
    p_staff = sub.add_parser("staff", help="manage HR, managers and admins")
    staff_sub = p_staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    p_add = staff_sub.add_parser("add", help="add a staff member")
    p_add.add_argument("--name", required=True)
    p_add.add_argument("--role", required=True, choices=("hr", "manager", "admin"))
    p_add.add_argument("--department")
    p_add.add_argument("--telegram", metavar="ID")
    p_add.add_argument("--wecom", metavar="USERID")
    p_add.add_argument("--feishu", metavar="OPEN_ID")
    staff_sub.add_parser("list", help="list staff")
    sub.add_parser("demo", help="seed the demo cohort into an empty database")
    p_db = sub.add_parser("db", help="database maintenance")
    db_sub = p_db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")
    p_copy = db_sub.add_parser(
        "copy", help="copy every row into an empty database (SQLite <-> PostgreSQL)"
    )
    p_copy.add_argument("source", metavar="SRC_URL")
    p_copy.add_argument("destination", metavar="DST_URL")
    p_cal = sub.add_parser(
        "calibrate", help="fit the score weights to recorded outcomes and compare their AUC"
    )
    p_cal.add_argument(
        "--apply", action="store_true", help="write the fitted SCORE_WEIGHT_* lines to the env file"
    )
    p_cal.add_argument("--env-file", type=Path, default=Path(".env"), help="default: .env")
    return parser


async def _run(app: App, args: argparse.Namespace) -> int:
    if args.command == "db" and args.db_command == "copy":
        return await cmd_db_copy(args)  # the two URLs given, not DATABASE_URL
    await app.prepare()
    handler = COMMANDS[args.command or "run"]
    return await handler(app, args)


async def cmd_run(app: App, args: argparse.Namespace) -> int:
    platforms = app.settings.enabled_platforms()
    if not platforms:
        return await cmd_console(app, args)
    log.info("starting %s", ", ".join(platforms))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signame in ("SIGINT", "SIGTERM"):
        with contextlib.suppress(NotImplementedError, AttributeError):
            loop.add_signal_handler(getattr(signal, signame), stop.set)
    await app.run_platforms(stop)
    return 0


async def cmd_console(app: App, args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    report = await app.seed_demo_if_empty(console=True)
    if report is not None:
        print(f"demo cohort seeded: {report.created} candidates, {report.invites} invite codes")
    if interactive:
        print(
            "Preboard console. :who lists people, :as NAME switches identity "
            "(an unknown name is a new chat user), :clock +3d moves time, :file PATH sends a "
            "file, :quit ends. Try: :as 新同学, then 绑定 <code from :who>."
        )
    await app.run_console(sys.stdin, sys.stdout, interactive=interactive)
    return 0


async def cmd_import(app: App, args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    lang = app.settings.default_language

    def t(key: str, **values: object) -> str:
        return app.i18n.t(lang, key, **values)

    class _Rollback(Exception):
        pass

    try:
        async with app.db.session() as session:
            report = await import_candidates(
                session=session,
                data=path.read_bytes(),
                now=app.clock.now(),
                ttl_days=app.settings.invite_ttl_days,
            )
            if args.dry_run:
                raise _Rollback
    except ImportRefused as exc:
        print(t(exc.key, **exc.params), file=sys.stderr)
        return 2
    except _Rollback:
        pass
    print(render_report(t, report, dry_run=args.dry_run))
    return 0 if not report.errors else 1


def deep_link(settings: Settings, code: str) -> str:
    if not settings.telegram_bot_username:
        return ""
    return f"https://t.me/{settings.telegram_bot_username}?start={code}"


async def cmd_invites(app: App, args: argparse.Namespace) -> int:
    async with app.db.session() as session:
        rows = await invites.invites_overview(session=session, now=app.clock.now())
    table = [
        (
            str(c.id),
            c.name,
            invite.code if invite else "",
            deep_link(app.settings, invite.code) if invite else "",
        )
        for c, invite in rows
    ]
    header = ("id", "name", "invite_code", "telegram_link")
    if args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(table)
    else:
        _print_table(header, table)
    return 0


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    from unicodedata import east_asian_width

    def width(text: str) -> int:
        return sum(2 if east_asian_width(ch) in "WF" else 1 for ch in text)

    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(header)]
    for row in (header, *rows):
        print(
            "  ".join(
                cell + " " * (w - width(cell)) for cell, w in zip(row, widths, strict=True)
            ).rstrip()
        )


async def cmd_staff(app: App, args: argparse.Namespace) -> int:
    now = app.clock.now()
    async with app.db.session() as session:
        if args.staff_command == "list":
            rows = []
            for staff in await people.list_staff(session=session):
                ids = await people.identities_of(session=session, staff_id=staff.id)
                rows.append(
                    (
                        str(staff.id),
                        staff.name,
                        staff.role,
                        staff.department or "",
                        ", ".join(f"{i.platform}:{i.user_id}" for i in ids),
                    )
                )
            _print_table(("id", "name", "role", "department", "chat accounts"), rows)
            return 0
        pre_bound = [
            (p, v)
            for p, v in (
                ("telegram", args.telegram),
                ("wecom", args.wecom),
                ("feishu", args.feishu),
            )
            if v
        ]
        for platform, user_id in pre_bound:
            if await people.identity_owner(session=session, platform=platform, user_id=user_id):
                print(f"{platform}:{user_id} is already linked to someone else", file=sys.stderr)
                return 2
        staff = await people.add_staff(
            session=session,
            name=args.name,
            role=Role(args.role).value,
            department=args.department,
            now=now,
        )
        for platform, user_id in pre_bound:
            await people.prebind_identity(
                session=session,
                platform=platform,
                user_id=user_id,
                display_name=args.name,
                now=now,
                staff_id=staff.id,
            )
    print(f"added {staff.role} {staff.name} (id {staff.id})")
    return 0


async def cmd_demo(app: App, args: argparse.Namespace) -> int:
    report = await app.seed_demo_if_empty(console=True)
    if report is None:
        print("the database already has people; demo not seeded")
        return 1
    print(f"demo cohort seeded: {report.created} candidates, {report.invites} invite codes")
    return 0


async def cmd_db(app: App, args: argparse.Namespace) -> int:
    print("database is up to date")  # prepare() has just applied the migrations
    return 0


async def cmd_db_copy(args: argparse.Namespace) -> int:
    from storage.copy import CopyFailed, CopyRefused, copy_database

    try:
        report = await copy_database(args.source, args.destination)
    except CopyRefused as exc:
        print(f"preboard: {exc}", file=sys.stderr)
        return 2
    except CopyFailed as exc:
        print(f"preboard: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    return 0


async def cmd_calibrate(app: App, args: argparse.Namespace) -> int:
    from bot.scoring import calibrate

    lang = app.settings.default_language

    def t(key: str, **values: object) -> str:
        return app.i18n.t(lang, key, **values)

    async with app.db.session() as session:
        rows = await scores.calibration_rows(session=session)
    result, lines = calibrate.report(t, rows, app.settings.score_weights)
    if result is None:
        print("\n".join(lines), file=sys.stderr)
        return 1
    print("\n".join(lines))
    if args.apply:
        calibrate.apply_env(args.env_file, result.weights)
        print(t("score.calibrate.applied", path=args.env_file))
    else:
        print(t("score.calibrate.dry", path=args.env_file))
    return 0


COMMANDS: dict[str, Callable[[App, argparse.Namespace], Awaitable[int]]] = {
    "run": cmd_run,
    "console": cmd_console,
    "import": cmd_import,
    "invites": cmd_invites,
    "staff": cmd_staff,
    "demo": cmd_demo,
    "db": cmd_db,
    "calibrate": cmd_calibrate,
}


AppFactory = Callable[[Settings], App]


def main(build_app: AppFactory, argv: list[str] | None = None) -> int:
    """Parse ``argv``, load settings, build the app with ``build_app`` and run the command."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"preboard: {exc}", file=sys.stderr)
        return 2
    # LOG_LEVEL applies to every command. The console is a conversation: its log (and
    # libraries' warnings) goes to DATA_DIR/console.log, not between the chat lines.
    interactive_console = args.command == "console" or (
        args.command in (None, "run") and not settings.enabled_platforms()
    )
    level = settings.log_level
    log_file = None
    if interactive_console:
        log_file = settings.data_dir / "console.log"
        if "log_level" not in settings.model_fields_set:
            level = "WARNING"
    setup_logging(settings.log_format, level, secrets=settings.secrets(), path=log_file)

    async def go() -> int:
        app = build_app(settings)
        try:
            return await _run(app, args)
        finally:
            await app.close()

    try:
        return asyncio.run(go())
    except (StartupError, ContentError, SettingsError) as exc:
        print(f"preboard: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
