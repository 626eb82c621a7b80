"""`flask --app massline matching …`: keep the relevance index that national matching reads."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from massline.extensions import db
from massline.matching.store import service

matching_cli = AppGroup("matching", help="Prepare matching for a large database.")


@matching_cli.command("index")
def index_command() -> None:
    """Fit the relevance index over every public priority now, and count participants."""
    record = service.build_index(db.session)
    db.session.commit()
    click.echo(
        f"relevance index: {record.documents} priorities ({record.counted} visible), "
        f"{record.terms} terms, {record.size_bytes / 2**20:.1f} MiB in {record.parts} parts; "
        f"fitted in {record.build_seconds:.1f} s, participants counted in "
        f"{record.participants_seconds:.1f} s"
    )
