"""House rules that keep the code base in shape."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from massline.api.openapi import OPERATIONS

PACKAGE = Path(__file__).resolve().parents[1] / "massline"
# Pure computation: these modules must never reach the web app or the database.
ENGINE_MODULES = sorted(
    [
        *PACKAGE.glob("text/*.py"),
        *PACKAGE.glob("opinion/*.py"),
        PACKAGE / "themes" / "engine.py",
        PACKAGE / "themes" / "duplicates.py",
        *(
            path
            for path in PACKAGE.glob("matching/*.py")
            if path.stem not in {"models", "service", "planning", "routes", "api", "cli"}
        ),
    ]
)
FORBIDDEN = ("flask", "flask_", "sqlalchemy", "werkzeug", "jinja2", "psycopg")
ENGINE_PACKAGES = ("massline.text", "massline.opinion", "massline.themes.", "massline.matching.")
WEB_MODULE_NAMES = {"models", "service", "planning", "routes", "api", "cli", "schemas", "queries"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", ENGINE_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_engines_import_neither_flask_nor_the_database(path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
        if name.startswith("massline."):
            assert name.startswith(ENGINE_PACKAGES), f"{path.name} imports app module {name}"
            assert name.rsplit(".", 1)[-1] not in WEB_MODULE_NAMES, f"{path.name} imports {name}"


def test_every_api_route_is_in_the_openapi_document(app) -> None:
    documented = {(method.upper(), "/api/v1" + path) for method, path, *_ in OPERATIONS}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule
        for converter in ("<int:", "<any(", "<"):
            path = path.replace(converter, "{")
        path = _normalise(path)
        known = {(m, _normalise(p)) for m, p in documented}
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in known, (method, rule.rule)


def _normalise(path: str) -> str:
    """Path parameters compared by position only: /a/{x}/b → /a/{}/b."""
    parts = []
    for part in path.split("/"):
        parts.append("{}" if part.startswith("{") else part)
    return "/".join(parts)


def test_openapi_document_is_served(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert "/priorities/{id}/supports" in document["paths"]
