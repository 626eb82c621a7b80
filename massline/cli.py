"""Command-line interface: `flask --app massline <command>`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from massline.accounts import service as accounts
from massline.accounts.models import ROLES
from massline.errors import DomainError
from massline.extensions import db
from massline.localities.service import load_registry
from massline.priorities.api import threshold_rule
from massline.priorities.categories import ensure_categories
from massline.priorities.importer import ImportFailed, import_priorities
from massline.tick import run_tick

users_cli = AppGroup("users", help="Manage accounts.")
priorities_cli = AppGroup("priorities", help="Bulk work on priorities.")


def data_dir() -> Path:
    """The shared real-data folder from the settings."""
    return Path(current_app.config["MASSLINE_DATA_DIR"])


@click.command("setup")
@click.option("--demo", is_flag=True, help="Also add demo users, priorities and supports.")
def setup_command(demo: bool) -> None:
    """Create or upgrade the schema and load the locality registry (idempotent)."""
    upgrade()
    inserted, updated = load_registry(db.session, data_dir() / "localities")
    added = ensure_categories(db.session)
    db.session.commit()
    click.echo(f"localities: {inserted} new, {updated} updated; categories: {added} new")
    if demo:
        from massline.demo import load_demo

        counts = load_demo(db.session, data_dir(), rule=threshold_rule())
        db.session.commit()
        click.echo("demo: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@users_cli.command("create")
@click.argument("phone")
@click.option("--locality", "locality_code", required=True, help="Home locality code.")
@click.option("--role", type=click.Choice(ROLES), default="citizen", show_default=True)
@click.option("--scope", help="Locality code the role covers (default: the home locality).")
@click.option("--password", help="Password for signing in.")
@click.option("--name", "display_name", help="Name shown to others.")
@click.option("--verified", is_flag=True, help="Mark the phone number as verified.")
def create_user_command(
    phone: str,
    locality_code: str,
    role: str,
    scope: str | None,
    password: str | None,
    display_name: str | None,
    verified: bool,
) -> None:
    """Make an account from the command line."""
    try:
        user = accounts.create_user(
            db.session,
            phone=phone,
            display_name=display_name or f"用户{phone[-4:]}",
            home_code=locality_code,
            password=password,
            verified=verified,
        )
        if role != "citizen":
            accounts.grant_role(db.session, user, role, scope or locality_code)
    except DomainError as error:
        db.session.rollback()
        detail = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {detail}".strip()) from error
    db.session.commit()
    click.echo(f"created user {user.id} ({role})")


@priorities_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assisted-by", "worker_phone", required=True, help="The community worker's phone.")
def import_command(csv_file: Path, worker_phone: str) -> None:
    """Enter offline-collected priorities from CSV; a bad row keeps the whole file out."""
    try:
        worker = accounts.user_by_phone(db.session, worker_phone)
        created = import_priorities(
            db.session, csv_file.read_bytes(), entered_by=worker, rule=threshold_rule()
        )
    except ImportFailed as failed:
        db.session.rollback()
        for error in failed.errors:
            click.echo(f"line {error.line}: {error.message}", err=True)
        raise click.ClickException(f"nothing imported: {len(failed.errors)} bad rows") from None
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from error
    db.session.commit()
    click.echo(f"imported {created} priorities")


def _parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter("use an ISO time such as 2026-12-01T09:00:00+08:00") from error
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


@click.command("tick")
@click.option("--now", callback=_parse_now, help="Pretend it is this time (ISO 8601).")
def tick_command(now: datetime) -> None:
    """The scheduled job: archiving and the other date-driven work."""
    for name, count in run_tick(db.session, now, current_app.config).items():
        click.echo(f"{name}: {count}")


def init_app(app: Flask) -> None:
    """Register the commands."""
    from massline.matching.cli import matching_cli
    from massline.themes.cli import themes_cli

    commands = (setup_command, tick_command, match_command, users_cli, priorities_cli, themes_cli,
                matching_cli)  # fmt: skip
    for command in commands:
        app.cli.add_command(command)


@click.command("match")
@click.argument("text")
@click.option("--level", type=click.Choice(["province", "prefecture", "county"]), default="county")
@click.option("--k", type=click.IntRange(1, 500), default=10, show_default=True)
@click.option("--max-per-province", type=click.IntRange(1, 500))
@click.option("--exclude", multiple=True, help="A locality code never to choose (repeatable).")
@click.option("--top", type=click.IntRange(1, 5000), default=20, show_default=True)
@click.option(
    "--min-participants",
    type=click.IntRange(1, 10**9),
    default=30,
    show_default=True,
    help="Places with fewer active participants are shown but not chosen.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
def match_command(
    text: str,
    level: str,
    k: int,
    max_per_province: int | None,
    exclude: tuple[str, ...],
    top: int,
    min_participants: int,
    as_json: bool,
) -> None:
    """Rank localities as pilot sites for a central idea and pick a representative portfolio."""
    from massline.matching.service import MatchRequest, match

    result = match(
        db.session,
        MatchRequest(
            text=text, level=level, k=k, max_per_province=max_per_province,
            exclude=exclude, top=top, min_participants=min_participants,
        ),
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    click.echo(
        f"{'rank':>4} {'code':6} {'name':12} {'score':>8} {'supporters':>10} {'participants':>12}"
    )
    for row in result["ranking"]:
        click.echo(
            f"{row['rank']:>4} {row['code']:6} {row['name']:12} {row['score']:>8.4f} "
            f"{row['supporters']:>10.1f} {row['participants']:>12}"
        )
    status = result["portfolio_status"]
    click.echo(
        f"portfolio ({status['status']}): " + ", ".join(r["name"] for r in result["portfolio"])
    )
    for name, metrics in result["metrics"].items():
        if metrics:
            click.echo(
                f"  {name:9} lift {metrics['demand_lift']:.2f}  max|SMD| {metrics['max_smd']:.2f}"
                f"  B pct {metrics['b_percentile']:.0f}  provinces {metrics['provinces']}"
            )
