"""`flask themes build` and `flask themes cluster-file`."""

from __future__ import annotations

import csv
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from massline.extensions import db
from massline.themes.models import PriorityTheme, ThemeBuild
from tests.themes.test_service import load_messages, read_messages


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_build_command_builds_with_progress(app: Flask, data_dir: Path) -> None:
    priorities = load_messages(data_dir, limit=120)
    result = app.test_cli_runner().invoke(
        args=["themes", "build", "--n-themes", "5", "--batch-size", "100"]
    )
    assert result.exit_code == 0, result.output
    assert "5 themes over 120 priorities" in result.stdout
    assert "assigning" in result.stderr  # the progress bar's stage label
    build = db.session.scalar(select(ThemeBuild))
    assert build.status == "done"
    count = select(func.count()).select_from(PriorityTheme)
    assert db.session.scalar(count) == len(priorities)


def test_build_command_refuses_an_empty_scope(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["themes", "build", "--scope", "110101"])
    assert result.exit_code == 1 and result.output.startswith("Error: ")
    assert db.session.scalar(select(func.count()).select_from(ThemeBuild)) == 0
    unknown = app.test_cli_runner().invoke(args=["themes", "build", "--scope", "999999"])
    assert unknown.exit_code == 1 and unknown.output.startswith("Error: ")


def test_cluster_file_writes_themes_and_duplicates(
    app: Flask, data_dir: Path, tmp_path: Path
) -> None:
    rows = [
        {"msg": r["id"], "text": r["title"] + "。" + r["body"]}
        for r in read_messages(data_dir, 150, offset=3)
    ]
    rows.append({"msg": "repost", "text": rows[10]["text"]})  # an exact repost of row 11
    source = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    result = app.test_cli_runner().invoke(
        args=[
            "themes",
            "cluster-file",
            str(source),
            "--text-column",
            "text",
            "--id-column",
            "msg",
            "--n-themes",
            "6",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["id", "theme", "theme_label", "duplicate_of"]
        written = list(reader)
    assert [r["id"] for r in written] == [r["msg"] for r in rows]
    assert len({r["theme"] for r in written}) == 6
    labels = {r["theme"]: r["theme_label"] for r in written}
    assert all(labels.values())
    assert all(r["theme_label"] == labels[r["theme"]] for r in written)
    repost = written[-1]
    assert repost["duplicate_of"] == rows[10]["msg"]
    assert repost["theme"] == written[10]["theme"]
    assert written[10]["duplicate_of"] == ""


def test_cluster_file_without_id_column_numbers_rows(app: Flask, tmp_path: Path) -> None:
    rows = [{"text": t} for t in ["小区路灯坏了", "路灯不亮希望维修", "学校门口交通拥堵", ""]]
    source = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    runner = app.test_cli_runner()
    args = ["themes", "cluster-file", str(source), "--text-column", "text", "--out", str(out)]
    assert runner.invoke(args=args).exit_code == 0
    with open(out, encoding="utf-8", newline="") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == ["1", "2", "3", "4"]
    wrong = runner.invoke(args=[*args[:4], "body", "--out", str(out)])
    assert wrong.exit_code == 2 and "no column 'body'" in wrong.output
