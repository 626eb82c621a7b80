"""`flask --app massline themes …`: rebuild themes, and cluster any CSV for analysts."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from massline.errors import DomainError
from massline.extensions import db
from massline.localities.models import NATION_CODE
from massline.text import tokenize
from massline.themes import service
from massline.themes.duplicates import DuplicateIndex, body_hash
from massline.themes.engine import ThemeModel

themes_cli = AppGroup("themes", help="Build themes and cluster texts.")


class _Bars:
    """One click progress bar per build stage, fed by the service's progress callback."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.bar: Any = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(
                length=max(total, 1), label=stage.ljust(10), file=sys.stderr
            )
            self.bar.__enter__()
        self.bar.length = max(total, done, 1)  # the resume stage learns its size as it goes
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@contextmanager
def _build_errors(bars: _Bars) -> Iterator[None]:
    """Close the progress bar; turn domain errors into a clean CLI failure."""
    try:
        yield
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from error
    finally:
        bars.close()


@themes_cli.command("build")
@click.option("--scope", default=NATION_CODE, show_default=True, help="Locality code of the scope.")
@click.option("--n-themes", type=click.IntRange(1, 500), help="Fixed number of themes.")
@click.option("--batch-size", type=click.IntRange(100, 100_000), default=5000, show_default=True)
@click.option(
    "--restart", is_flag=True, help="Abandon an interrupted build instead of resuming it."
)
def build_command(scope: str, n_themes: int | None, batch_size: int, restart: bool) -> None:
    """Rebuild the themes of a scope from stored tokens; continues a build that died."""
    bars = _Bars()
    with _build_errors(bars):
        build = service.build_themes(
            db.session,
            scope,
            n_themes=n_themes,
            batch_size=batch_size,
            progress=bars,
            checkpoint=db.session.commit,
            restart=restart,
        )
        db.session.commit()
    click.echo(
        f"build {build.id}: {build.n_themes} themes over {build.n_priorities} priorities "
        f"(scope {build.scope_code})"
    )


def cluster_texts(
    texts: Sequence[str], *, n_themes: int | None = None, random_state: int = 0
) -> tuple[list[int], list[str], list[int | None]]:
    """Theme number, theme label and the first row it duplicates (or None) for each text."""
    with click.progressbar(texts, label="segmenting", file=sys.stderr) as rows:
        tokens = [tokenize(text) for text in rows]
    model = ThemeModel(n_themes, random_state=random_state).fit(tokens)
    hashes = [body_hash(text) if text.strip() else None for text in texts]
    index = DuplicateIndex().fit(tokens, hashes=hashes)
    # Union-find with the smallest row as root: every copy in a group of reposts points at the
    # group's first row, whatever order the pairs come in.
    root = list(range(len(texts)))

    def find(row: int) -> int:
        while root[row] != row:
            root[row] = root[root[row]]
            row = root[row]
        return row

    for first, second, _similarity in index.pairs():
        a, b = find(first), find(second)
        root[max(a, b)] = min(a, b)
    duplicate_of = [None if find(i) == i else find(i) for i in range(len(texts))]
    labels = [int(label) for label in model.labels_]
    return labels, [model.names_[label] for label in labels], duplicate_of


@themes_cli.command("cluster-file")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--text-column", required=True, help="Column with the text to cluster.")
@click.option("--id-column", help="Column with row ids (default: the row number from 1).")
@click.option("--n-themes", type=click.IntRange(1, 500), help="Fixed number of themes.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
def cluster_file_command(
    csv_file: Path, text_column: str, id_column: str | None, n_themes: int | None, out_file: Path
) -> None:
    """Cluster any CSV of Chinese texts into themes and flag duplicates; no database."""
    with open(csv_file, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        for column in (text_column, id_column):
            if column is not None and column not in columns:
                raise click.BadParameter(
                    f"no column {column!r}; the file has {', '.join(columns)}",
                    param_hint="--text-column" if column == text_column else "--id-column",
                )
        rows = list(reader)
    if not rows:
        raise click.ClickException("the file has no rows")
    ids = [row[id_column] if id_column else str(n) for n, row in enumerate(rows, start=1)]
    texts = [row[text_column] or "" for row in rows]
    labels, names, duplicate_of = cluster_texts(texts, n_themes=n_themes)
    with open(out_file, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "theme", "theme_label", "duplicate_of"])
        for row_id, label, name, dup in zip(ids, labels, names, duplicate_of, strict=True):
            writer.writerow([row_id, label, name, ids[dup] if dup is not None else ""])
    click.echo(
        f"{len(rows)} rows, {len(set(labels))} themes, "
        f"{sum(d is not None for d in duplicate_of)} duplicates → {out_file}"
    )
