"""The locality registry: loading, the tree, and the pseudo-county rows it must skip."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from massline.errors import NotFound
from massline.extensions import db
from massline.localities import service
from massline.localities.models import Locality, code_prefix, subtree_bounds
from tests.factories import ELSEWHERE, HOME, NEIGHBOUR, PREFECTURE


def test_load_registry_twice_changes_nothing(app, data_dir: Path):
    before = db.session.scalar(select(func.count()).select_from(Locality))
    assert service.load_registry(db.session, data_dir / "localities") == (0, 0)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Locality)) == before


def test_registry_shape(app):
    provinces = db.session.scalars(select(Locality).where(Locality.level == "province")).all()
    assert len(provinces) == 31  # mainland provinces, autonomous regions and municipalities
    assert {p.parent_code for p in provinces} == {"000000"}
    nation = db.session.get(Locality, "000000")
    assert nation.population == sum(p.population for p in provinces)
    hunan = db.session.get(Locality, "430000")
    assert hunan.name == "湖南省" and hunan.population > 60_000_000
    furong = db.session.get(Locality, HOME)
    assert furong.name == "芙蓉区" and furong.parent_code == PREFECTURE
    assert furong.covariates["urbanisation_rate"] > 0.9
    # every non-nation locality's parent exists
    orphans = db.session.scalar(
        select(func.count())
        .select_from(Locality)
        .where(Locality.parent_code.is_not(None))
        .where(~Locality.parent_code.in_(select(Locality.code)))
    )
    assert orphans == 0


@pytest.mark.parametrize(
    ("code", "name"), [("441900", "东莞市"), ("442000", "中山市"), ("460400", "儋州市")]
)
def test_prefectures_without_counties_appear_once_as_prefectures(app, code, name):
    """The NBS list repeats them as counties under their own code; that row is skipped."""
    found = db.session.get(Locality, code)
    assert found.name == name and found.level == "prefecture"
    assert db.session.scalar(select(func.count()).where(Locality.name == name)) == 1
    assert service.children(db.session, code) == []


def test_subtree_children_ancestors_and_search(app):
    changsha = db.session.get(Locality, PREFECTURE)
    assert changsha.contains(HOME) and changsha.contains(NEIGHBOUR)
    assert not changsha.contains(ELSEWHERE)
    assert db.session.get(Locality, "000000").contains(ELSEWHERE)
    assert code_prefix(PREFECTURE, "prefecture") == "4301"
    assert subtree_bounds("4301") == ("430100", "430199")
    inside = db.session.scalars(
        select(Locality.code).where(service.in_subtree(Locality.code, changsha))
    ).all()
    assert {HOME, NEIGHBOUR, PREFECTURE} <= set(inside)
    assert all(code.startswith("4301") for code in inside)
    kids = service.children(db.session, PREFECTURE)
    assert HOME in [k.code for k in kids] and all(k.parent_code == PREFECTURE for k in kids)
    chain = service.ancestors(db.session, db.session.get(Locality, HOME))
    assert [loc.code for loc in chain] == ["000000", "430000", PREFECTURE]
    assert service.search(db.session, "芙蓉")[0].code == HOME
    assert service.search(db.session, "4301")[0].code.startswith("4301")
    assert service.search(db.session, "   ") == []
    assert service.search(db.session, "%_") == []  # LIKE wildcards are literal
    with app.test_request_context(), pytest.raises(NotFound) as refused:
        service.get_locality(db.session, "999999")
    assert "locality_code" in refused.value.fields
    with app.test_request_context(), pytest.raises(NotFound):
        service.children(db.session, "999999")
