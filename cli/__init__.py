"""The `auditloop` command: serve, scheduler, db upgrade, deploy, demo, user add, token create, kpi snapshot."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from engine.bootstrap import Engine, build_engine
from engine.domain.errors import EngineError, InvalidProcessError
from engine.domain.views import Actor
from engine.services import definitions, users

CLI_ACTOR = Actor(username="cli", roles=frozenset({"admin"}))
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _engine() -> Engine:
    return build_engine()


def upgrade_database(engine: Engine) -> None:
    """Apply every Alembic migration to the configured database."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.settings.database_url.replace("%", "%%"))
    command.upgrade(config, "head")


@click.group()
def main() -> None:
    """AuditLoop: BPMN workflow engine with the closed audit loop built in."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per tick drowns the real messages


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the web app and one in-process scheduler (migrates the database first)."""
    from werkzeug.serving import run_simple

    from engine.scheduler.runner import start_background
    from webui import create_app

    engine = _engine()
    upgrade_database(engine)
    app = create_app(engine=engine)
    scheduler = start_background(engine) if engine.settings.scheduler_enabled else None
    click.echo(f"AuditLoop serving on http://{host}:{port} (database {engine.db.url.render_as_string()})")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@main.command()
def scheduler() -> None:
    """Run the scheduler alone (several may run against one PostgreSQL database)."""
    from engine.scheduler.runner import run_blocking

    engine = _engine()
    upgrade_database(engine)
    run_blocking(engine)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations (Alembic)."""
    upgrade_database(_engine())
    click.echo("database is at the newest revision")


def collect_files(paths: list[Path]) -> tuple[list[tuple[str, bytes]], dict[str, Any]]:
    """BPMN/DMN files from files or folders, and the form definitions in the forms/ folder beside them."""
    files: list[tuple[str, bytes]] = []
    forms: dict[str, Any] = {}
    for path in paths:
        candidates = sorted(p for p in path.rglob("*") if p.suffix in (".bpmn", ".dmn")) if path.is_dir() else [path]
        for file in candidates:
            files.append((file.name, file.read_bytes()))
            for form in sorted((file.parent / "forms").glob("*.json")):
                try:
                    forms[form.stem] = json.loads(form.read_text(encoding="utf-8"))
                except ValueError as exc:
                    raise click.ClickException(f"{form}: not valid JSON: {exc}") from None
    return files, forms


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--comment", default="", help="Why this version is published.")
def deploy(paths: tuple[Path, ...], comment: str) -> None:
    """Validate and publish BPMN/DMN files; prints key and version, or the problems (exit 1)."""
    engine = _engine()
    upgrade_database(engine)
    files, forms = collect_files(list(paths))
    try:
        results = definitions.deploy_definition(
            engine.uow(),
            files=files,
            forms=forms,
            actor=CLI_ACTOR,
            now=engine.now(),
            comment=comment,
            max_bytes=engine.settings.max_upload_bytes,
        )
    except InvalidProcessError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    for result in results:
        state = "published" if result.is_new else "unchanged"
        click.echo(f"{result.key} version {result.version} ({state})")
    if not results:
        click.echo("decision files stored")


@main.group()
def user() -> None:
    """Users."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="Role name; repeat for several.")
@click.option("--unit", default=None, help="Unit code the user belongs to.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--display-name", default="")
def user_add(name: str, roles: tuple[str, ...], unit: str | None, password_stdin: bool, display_name: str) -> None:
    """Create a user."""
    engine = _engine()
    upgrade_database(engine)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        view = users.add_user(
            engine.uow(),
            username=name,
            roles=list(roles),
            unit_code=unit,
            password=password,
            display_name=display_name,
            now=engine.now(),
            actor=CLI_ACTOR,
        )
    except EngineError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"user {view.username} created with roles {', '.join(view.roles)}")


@user.command("deactivate")
@click.argument("name")
def user_deactivate(name: str) -> None:
    """Stop a user from signing in or using tokens."""
    engine = _engine()
    upgrade_database(engine)
    try:
        users.deactivate_user(engine.uow(), username=name, actor=CLI_ACTOR, now=engine.now())
    except EngineError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"user {name} deactivated")


@main.group()
def unit() -> None:
    """Units of the organisation (city -> district/county -> station)."""


@unit.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The unit's name.")
@click.option("--parent", default=None, help="Code of the unit above it (none for the city company).")
def unit_add(code: str, name: str, parent: str | None) -> None:
    """Create a unit."""
    engine = _engine()
    upgrade_database(engine)
    try:
        view = users.add_unit(engine.uow(), code=code, name=name, parent_code=parent, actor=CLI_ACTOR, now=engine.now())
    except EngineError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"unit {view.code} ({view.level}) created")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
def token_create(name: str, label: str) -> None:
    """Print a new API token for that user (shown once; only its hash is stored)."""
    engine = _engine()
    upgrade_database(engine)
    try:
        click.echo(users.create_token(engine.uow(), username=name, now=engine.now(), name=label, actor=CLI_ACTOR))
    except EngineError as exc:
        raise click.ClickException(exc.message) from None


@main.group()
def kpi() -> None:
    """The evaluation's month-end snapshots."""


@kpi.command("snapshot")
@click.option("--period", default=None, help="The month to freeze, e.g. 2026-11 (default: last month).")
def kpi_snapshot(period: str | None) -> None:
    """Freeze an ended month's KPIs and scores (as the month-end job does); refuses a month frozen already."""
    from engine.domain.kpi import previous_month
    from engine.services import snapshots

    engine = _engine()
    upgrade_database(engine)
    month = period or previous_month(engine.now())
    try:
        view = snapshots.freeze_month(engine.uow(), period=month, actor=CLI_ACTOR, now=engine.now())
    except EngineError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"KPI snapshot of {view.period} frozen: {view.figures} figures")


@main.command()
def demo() -> None:
    """Load a demo organisation, users (password: demo-password), published topics and cases at every stage."""
    from cli.demo import load_demo

    engine = _engine()
    upgrade_database(engine)
    load_demo(engine, Path(__file__).resolve().parent.parent)
