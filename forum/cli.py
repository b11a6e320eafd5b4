"""The `forum` command: serve, migrate, demo content, users, import and export."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forum import db
from forum.config import ConfigError, Settings, load_settings
from forum.errors import DomainError, ValidationError

if TYPE_CHECKING:
    from forum.archive.importer import ImportReport

Handler = Callable[[Settings, argparse.Namespace], Awaitable[int] | int]


def _err(message: str) -> None:
    print(f"forum: {message}", file=sys.stderr)


# --- serve --------------------------------------------------------------------------------


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What `forum serve` tells uvicorn besides where to listen (the tests build uvicorn's
    config from it, so they check what serving does).

    Proxy headers are believed only from `server.forwarded_allow_ips`, and not at all when
    it is empty: uvicorn's own default believes 127.0.0.1, so anything on the host could
    name any client address (and skip the per-address limits) or claim https.
    """
    allowed = list(settings.server.forwarded_allow_ips)
    return {
        "proxy_headers": bool(allowed),
        "forwarded_allow_ips": allowed,
        # The forum logs each request itself (route pattern, no query strings).
        "access_log": False,
        "log_level": "info",
    }


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import subprocess

    import uvicorn

    host = args.host or settings.server.host
    port = args.port or settings.server.port
    workers = args.workers or settings.server.workers
    # The workers read the settings afresh: they learn where they listen (and so, on a new
    # install, what address to link to: config.load_settings) from the environment.
    os.environ["FORUM_SERVER_HOST"], os.environ["FORUM_SERVER_PORT"] = host, str(port)
    indexer = None
    if workers > 1:
        if settings.is_sqlite:
            print("note: several workers share one SQLite file; PostgreSQL suits that better.")
        # One indexer per index folder: its own process, not one per worker.
        os.environ["FORUM_SEARCH_RUN_INDEXER"] = "no"
        indexer = subprocess.Popen([sys.executable, "-m", "forum", "indexer"])
    print(f"Serving {settings.site.name} at http://{host}:{port}  (Ctrl+C to stop)", flush=True)
    proxies = settings.server.forwarded_allow_ips
    print(
        "X-Forwarded-For and -Proto are believed from " + ", ".join(proxies)
        if proxies
        else "X-Forwarded-For and -Proto are ignored (server.forwarded_allow_ips is empty)",
        flush=True,
    )
    try:
        uvicorn.run(
            "forum.app:asgi",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **uvicorn_options(settings),
        )
    finally:
        if indexer is not None:
            indexer.terminate()
            indexer.wait(timeout=30)
    return 0


async def cmd_indexer(settings: Settings, args: argparse.Namespace) -> int:
    import signal

    from forum.search import indexer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Following the change log into {settings.index_dir} (Ctrl+C to stop)", flush=True)
    async with db.opened(settings):
        await indexer.run(settings.index_dir, stop)
    return 0


async def cmd_search_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from forum.search import indexer

    async with db.opened(settings):
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task("Indexing posts", total=None)
            generation = await indexer.rebuild(
                settings.index_dir,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    print(f"Search index rebuilt and swapped in: {generation}")
    return 0


async def cmd_search_check(settings: Settings, args: argparse.Namespace) -> int:
    from forum.search import indexer

    async with db.opened(settings):
        problems = await indexer.check(settings.index_dir)
    for problem in problems[:50]:
        print(problem)
    if problems:
        print(f"{len(problems)} difference(s) between the database and the search index.")
        print("Run `forum search rebuild` to rebuild it from the database.")
        return 1
    print("The search index matches the database.")
    return 0


async def _catch_up_search(settings: Settings) -> None:
    """Bring the index up to date before a command that wrote content returns."""
    from forum.search import indexer

    applied = await indexer.catch_up(settings.index_dir)
    if applied:
        print(f"Search index updated ({applied:,} changes).")


# --- db -------------------------------------------------------------------------------------


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """A consistent copy of the database (the search index is rebuilt, not backed up)."""
    from forum.ops.backup import BackupError, backup

    try:
        path = backup(settings, Path(args.file))
    except BackupError as exc:
        _err(str(exc))
        return 1
    size = path.stat().st_size
    print(f"Backed up the database to {path} ({size:,} bytes).")
    return 0


async def cmd_mail_send(settings: Settings, args: argparse.Namespace) -> int:
    """Deliver the outbox once (the server does this by itself every second)."""
    from forum.mail import sender
    from forum.mail.models import MailStatus, OutboundEmail

    async with db.opened(settings):
        sent, failed = await sender.deliver_due(settings, limit=10_000)
        waiting = await OutboundEmail.filter(status=MailStatus.QUEUED).count()
        gave_up = await OutboundEmail.filter(status=MailStatus.FAILED).count()
    print(f"sent {sent}, failed {failed}; {waiting} waiting to be retried, {gave_up} given up")
    return 1 if failed else 0


async def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    await db.upgrade(settings)
    print("Database is up to date.")
    return 0


# --- demo ----------------------------------------------------------------------------------


async def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from forum import demo

    async with db.opened(settings):
        if not await demo.is_empty():
            if args.if_empty:
                print("The database already has content: demo content not loaded again.")
                print(f"Demo logins, if this is the demo database: password {demo.DEMO_PASSWORD!r}")
                return 0
            _err("the database is not empty; the demo loads only into an empty forum")
            return 1
        print("Loading demo content…", flush=True)
        logins = await demo.load_demo(settings.site)
        await _catch_up_search(settings)
    print(f"\nDemo content loaded. Every demo account's password is: {demo.DEMO_PASSWORD}")
    width = max(len(login.username) for login in logins)
    for login in logins:
        print(f"  {login.username:<{width}}  {login.role}")
    print(f"\nOpen {settings.site.base_url}/login to sign in.")
    from forum.demo import content

    domain = content.ORGANISATIONS[0].email_domains[0]
    where = (
        f"written to {settings.path(settings.email.folder)} and printed in the server's log"
        if settings.email.backend == "folder"
        else f"sent through {settings.email.host}"
    )
    print(
        f"To try signing up, use an address such as someone@{domain}: "
        f"its confirmation link is {where}."
    )
    return 0


# --- users ---------------------------------------------------------------------------------


def _read_password(prompt: str = "Password: ") -> str:
    """From standard input when it is not a terminal (scripts), else asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Repeat it: ") != first:
        raise ValidationError({"password": "The two passwords do not match."})
    return first


def _ask(value: str | None, prompt: str) -> str:
    if value:
        return value
    if not sys.stdin.isatty():
        raise ValidationError({prompt.lower(): f"--{prompt.lower().replace(' ', '-')} is required"})
    return input(f"{prompt}: ").strip()


async def cmd_user_create(settings: Settings, args: argparse.Namespace) -> int:
    from forum.accounts import services
    from forum.accounts.models import Organisation

    username = _ask(args.username, "Username")
    email = _ask(args.email, "Email")
    display_name = _ask(args.display_name, "Display name")
    password = _read_password() if not args.no_password else None
    async with db.opened(settings):
        org = None
        if args.organisation:
            org = await Organisation.filter(slug=args.organisation).first()
            if org is None:
                _err(f"no organisation with slug {args.organisation!r}")
                return 1
        user = await services.create_user(
            username=username,
            email=email,
            display_name=display_name,
            password=password,
            organisation=org,
            is_admin=args.admin,
        )
    print(f"Created {'admin ' if user.is_admin else ''}user {user.username!r}.")
    return 0


async def cmd_user_set_password(settings: Settings, args: argparse.Namespace) -> int:
    from forum.accounts import services
    from forum.accounts.models import User

    password = _read_password("New password: ")
    async with db.opened(settings):
        user = await User.filter(username=services.normalise_username(args.username)).first()
        if user is None:
            _err(f"no user {args.username!r}")
            return 1
        await services.set_password(user=user, password=password)
    print(f"Password changed for {user.username!r}; their sessions were ended.")
    return 0


# --- import / export -------------------------------------------------------------------------


async def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from forum.archive import ArchiveError, import_archive

    path = Path(args.file)
    if not path.is_file():
        _err(f"{path}: no such file")
        return 1
    size = path.stat().st_size
    async with db.opened(settings):
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task(f"Importing {path.name}", total=size)
            try:
                report = await import_archive(
                    path,
                    skip_existing=args.skip_existing,
                    grant_roles=args.grant_roles,
                    dry_run=args.dry_run,
                    limits=settings.limits,
                    progress=lambda n: bar.update(task, completed=n),
                )
            except ArchiveError as exc:
                # One line: what is wrong, where, and that nothing changed.
                _err(f"{path}: {exc} Nothing was imported.")
                return 1
        if not report.dry_run:
            await _catch_up_search(settings)
    done = "Would import" if report.dry_run else "Imported"
    print(f"{done} {_counts(report.created) or 'nothing'} from {report.lines:,} lines.")
    skipped = _counts(report.skipped)
    if skipped:
        print(f"Skipped (already present): {skipped}")
    _print_grants(report)
    if report.dry_run:
        print("Dry run: nothing was written.")
    else:
        print("Recorded in the audit log: /admin/audit?action=archive.import")
    return 0


def _print_grants(report: ImportReport) -> None:
    """Every role the import gave (those over records already in the forum first), and what
    it added to networks that were already there: an admin must see what a merge changed."""
    if not report.grants:
        print("Roles granted: none.")
    else:
        by_role = ", ".join(f"{n:,} {role}" for role, n in report.grant_counts().items())
        print(f"Roles granted ({by_role}):")
        lines = report.grant_lines()
        for line in lines:
            print(f"  {line}")
        if len(report.grants) > len(lines):
            more = len(report.grants) - len(lines)
            print(f"  … and {more:,} more, all within accounts and networks the import created")
    for slug, counts in sorted(report.added_to_existing.items()):
        print(f"Added to network {slug!r}, already in the forum: {_counts(counts)}")


def _counts(counts: dict[str, int]) -> str:
    """{'post': 2, 'summary': 1} -> '2 posts, 1 summary'"""
    plural = {"summary": "summaries"}
    return ", ".join(
        f"{n:,} {kind if n == 1 else plural.get(kind, kind + 's')}"
        for kind, n in counts.items()
        if n
    )


async def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from rich.progress import Progress, SpinnerColumn

    from forum.archive import ArchiveError, export_archive

    path = Path(args.file)
    async with db.opened(settings):
        with Progress(
            SpinnerColumn(),
            "[progress.description]{task.description}",
            "{task.completed:,} records",
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task(f"Exporting to {path.name}", total=None)
            try:
                report = await export_archive(
                    path, progress=lambda n: bar.update(task, completed=n)
                )
            except ArchiveError as exc:
                _err(f"{path}: {exc}")
                return 1
    print(f"Exported {_counts(report.counts) or 'nothing'} to {path}.")
    return 0


# --- parser --------------------------------------------------------------------------------


class _KeepEpilog(argparse.HelpFormatter):
    """Wraps the description as usual; keeps the epilog's lines (an example) as written."""

    def add_text(self, text: str | None) -> None:
        if text and "\n" in text:
            self._add_item(lambda t: t + "\n", [text])
        else:
            super().add_text(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forum", description="Network forum and knowledge base: serve and manage it."
    )
    parser.add_argument(
        "--config", metavar="PATH", help="settings file (default: config.toml, or $FORUM_CONFIG)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the forum over HTTP")
    serve.add_argument("--host", help="address to listen on (default from config)")
    serve.add_argument("--port", type=int, help="port to listen on (default from config)")
    serve.add_argument("--workers", type=int, help="worker processes (default from config)")
    serve.set_defaults(handler=cmd_serve)

    dbp = sub.add_parser("db", help="database schema")
    dbsub = dbp.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="apply the migrations not yet applied")
    up.set_defaults(handler=cmd_db_upgrade)

    indexer = sub.add_parser("indexer", help="follow the change log into the search index")
    indexer.set_defaults(handler=cmd_indexer)

    search = sub.add_parser("search", help="the search index")
    ssub = search.add_subparsers(dest="search_command", required=True, metavar="ACTION")
    rebuild = ssub.add_parser(
        "rebuild", help="rebuild the index from the database and swap it in atomically"
    )
    rebuild.set_defaults(handler=cmd_search_rebuild)
    check = ssub.add_parser(
        "check", help="compare the index with the database (exit 1 on any difference)"
    )
    check.set_defaults(handler=cmd_search_check)

    bak = sub.add_parser(
        "backup",
        help="copy the database to FILE while the forum runs (restore: docs/deployment.md)",
    )
    bak.add_argument("file", help="a new file to write")
    bak.set_defaults(handler=cmd_backup)

    mailp = sub.add_parser("mail", help="the outbox of emails")
    msub = mailp.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    send = msub.add_parser("send", help="send what is due now (exit 1 if any attempt failed)")
    send.set_defaults(handler=cmd_mail_send)

    demo = sub.add_parser("demo", help="load demo networks, people and threads")
    demo.add_argument(
        "--if-empty", action="store_true", help="do nothing (and succeed) if there is content"
    )
    demo.set_defaults(handler=cmd_demo)

    user = sub.add_parser("user", help="manage accounts")
    usub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    create = usub.add_parser(
        "create",
        help="create an account (asks for what is not given; password from stdin if piped)",
    )
    create.add_argument("--username")
    create.add_argument("--email")
    create.add_argument("--display-name")
    create.add_argument("--organisation", metavar="SLUG", help="organisation slug")
    create.add_argument("--admin", action="store_true", help="make the user an administrator")
    create.add_argument(
        "--no-password", action="store_true", help="create without a password (cannot log in)"
    )
    create.set_defaults(handler=cmd_user_create)
    setpw = usub.add_parser(
        "set-password", help="set a password (read from stdin when it is not a terminal)"
    )
    setpw.add_argument("username")
    setpw.set_defaults(handler=cmd_user_set_password)

    imp = sub.add_parser(
        "import",
        help="import an archive (.jsonl or .jsonl.gz), all or nothing",
        description="Import an archive (docs/archive-format.md), all or nothing. Every field "
        "is held to the forms' limits ([limits] in config.toml: title_max, body_max, "
        "tags_max, and the other forms' own bounds); a line longer than 12 bytes a "
        "character of the longest text allowed, plus 64 KiB, is refused before the rest of "
        "it is read. The first bad line stops the import, nothing is written, and the "
        "command exits 1 with one line naming the line and the field. Every role the archive "
        "grants is listed and recorded in the audit log; a role over accounts or networks "
        "already in the forum needs --grant-roles.",
        epilog="A refusal looks like this:\n"
        '  forum: a.jsonl: line 6: thread "t-1": field "tags" has 5,000 tags; the limit is 8 '
        "(limits.tags_max in config.toml) Nothing was imported.\n"
        "See docs/archive-format.md for every rule and message.",
        formatter_class=_KeepEpilog,
    )
    imp.add_argument("file")
    imp.add_argument(
        "--skip-existing",
        action="store_true",
        help="skip records that already exist (a role they would gain still needs --grant-roles)",
    )
    imp.add_argument(
        "--grant-roles",
        action="store_true",
        help="allow memberships and facilitator roles for accounts or in networks already in "
        "the forum, and admins when it has accounts (refused without it; every grant is "
        "listed and audited)",
    )
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="check the whole file and list what it would import and grant; write nothing",
    )
    imp.set_defaults(handler=cmd_import)

    exp = sub.add_parser("export", help="export everything to an archive (.jsonl or .jsonl.gz)")
    exp.add_argument("file")
    exp.set_defaults(handler=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from forum.app import configure_logging

    configure_logging()
    if args.config:
        # Worker processes started by uvicorn read the same file through the environment.
        os.environ["FORUM_CONFIG"] = str(Path(args.config).resolve())
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        _err(f"configuration error: {exc}")
        return 2
    handler: Handler = args.handler
    try:
        result: Any = handler(settings, args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result)
    except ValidationError as exc:
        for field, message in exc.errors.items():
            _err(f"{field}: {message}")
        return 1
    except DomainError as exc:
        _err(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
