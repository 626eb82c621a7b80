"""Statement routing (Pol.is style) and the per-process cache of opinion-group fits."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from massline.extensions import db
from massline.localities.service import get_locality
from massline.models_common import utcnow
from massline.stages import service, statements
from massline.stages.service import StageInput
from tests.factories import PREFECTURE, make_user

TEXTS = ("增加座椅", "增加绿化", "修建停车位", "开辟儿童游乐区", "保留现状", "晚上十点后安静")


def opinion_process(texts=TEXTS, *, strict=True):
    """A process in its opinion stage (since yesterday, for a week) with seeded statements."""
    facilitator = make_user(roles=(("facilitator", PREFECTURE),))
    now = utcnow()
    stages = [
        StageInput("opinion", "意见征集", now - timedelta(days=1), now + timedelta(days=7),
                   ("statement", "vote")),
        StageInput("reflection", "讨论反思", now + timedelta(days=7), now + timedelta(days=14),
                   ("comment",)),
    ]  # fmt: skip
    process = service.create_process(
        db.session, facilitator, title="社区微更新", description="我们社区的公共空间该怎么改？",
        locality=get_locality(db.session, PREFECTURE), template="custom", stages=stages,
    )  # fmt: skip
    process.strict_moderation = strict
    made = [statements.add_statement(db.session, facilitator, process, t, now) for t in texts]
    db.session.commit()
    return process, made, facilitator


def vote_in_camps(made, people: int):
    """`people` voters in two camps (seats and greenery, or parking); all want a playground."""
    voters = []
    for i in range(people):
        voter = make_user()
        pattern = [1, 1, -1, 1, -1, 0] if i % 2 else [-1, -1, 1, 1, -1, 0]
        for statement, value in zip(made, pattern, strict=False):
            statements.vote(db.session, voter, statement, value, utcnow())
        voters.append(voter)
    db.session.commit()
    return voters


def test_only_unvoted_approved_statements_of_the_process_are_offered(app):
    process, made, facilitator = opinion_process()
    other, foreign, _ = opinion_process(("别的事情",))
    citizen = make_user()
    pending = statements.add_statement(db.session, citizen, process, "应该多种树", utcnow())
    rejected = statements.add_statement(db.session, citizen, process, "拆掉花坛", utcnow())
    statements.moderate(db.session, facilitator, rejected, "rejected")
    vote_in_camps(made, 2)
    stale = statements.opinion_fit(db.session, process)  # fitted before the citizen voted
    for statement in made[:2]:
        statements.vote(db.session, citizen, statement, 1, utcnow())
    statements.vote(db.session, citizen, foreign[0], 1, utcnow())
    db.session.commit()
    assert pending.status == "pending"
    expected = {s.id for s in made[2:]}
    for seed in range(20):
        offered = statements.next_statements(db.session, process, citizen, 100, seed=seed)
        assert {s.id for s in offered} == expected and len(offered) == len(expected)
    offered = statements.next_statements(db.session, process, citizen, 100, fit=stale)
    assert {s.id for s in offered} == expected  # their own votes count even on an older fit
    assert len(statements.next_statements(db.session, process, citizen, 1, seed=0)) == 1
    assert statements.next_statements(db.session, process, citizen, 0) == []
    for statement in made[2:]:
        statements.vote(db.session, citizen, statement, 0, utcnow())
    db.session.commit()
    assert statements.next_statements(db.session, process, citizen, 5) == []
    # Someone who has not voted gets everything approved, with or without a fit.
    assert len(statements.next_statements(db.session, process, None, 100)) == len(made)
    assert len(statements.next_statements(db.session, other, None, 100)) == 1


def test_a_new_statement_comes_before_old_well_voted_ones_most_of_the_time(app, monkeypatch):
    process, made, facilitator = opinion_process()
    vote_in_camps(made, 24)
    fresh = statements.add_statement(db.session, facilitator, process, "增加路灯", utcnow())
    db.session.commit()
    newcomer = make_user()
    firsts = Counter(
        statements.next_statements(db.session, process, newcomer, 1, seed=seed)[0].id
        for seed in range(200)
    )
    # Uniform choice would put it first 1 time in 7; the newness boost makes it the usual pick.
    assert firsts[fresh.id] > 120
    assert len(firsts) > 2  # still a random draw: old statements come first sometimes


def test_routing_is_reproducible_with_a_seed(app):
    process, made, _ = opinion_process()
    vote_in_camps(made[:3], 6)
    citizen = make_user()

    def order(seed):
        return [
            s.id for s in statements.next_statements(db.session, process, citizen, 6, seed=seed)
        ]

    assert order(7) == order(7) and order(123) == order(123)
    assert len({tuple(order(seed)) for seed in range(30)}) > 5


def test_groups_are_fitted_once_per_fingerprint(app, monkeypatch):
    process, made, facilitator = opinion_process()
    assert statements.opinion_fit(db.session, process) is None  # no votes, nothing to fit
    voters = vote_in_camps(made, 12)
    fits = []
    real_fit = statements._fit
    monkeypatch.setattr(statements, "_fit", lambda *a: fits.append(a) or real_fit(*a))

    first = statements.opinion_fit(db.session, process)
    assert statements.opinion_fit(db.session, process) is first
    assert statements.opinion_groups(db.session, process)["participants"] == 12
    assert len(fits) == 1  # the API payload and the page share the cached fit

    statements.vote(db.session, make_user(), made[0], 1, utcnow())  # a new vote
    db.session.commit()
    second = statements.opinion_fit(db.session, process)
    assert second is not first and second.report["n_participants"] == 13

    statements.vote(db.session, voters[0], made[0], -1, utcnow())  # a changed vote
    db.session.commit()
    third = statements.opinion_fit(db.session, process)
    assert third is not second

    statements.moderate(db.session, facilitator, made[5], "rejected")  # a statement withdrawn
    db.session.commit()
    fourth = statements.opinion_fit(db.session, process)
    assert fourth is not third and made[5].id not in fourth.model.statement_ids_
    assert statements.opinion_fit(db.session, process) is fourth
    assert len(fits) == 4


def test_the_fingerprint_counts_this_processs_approved_votes_only(app):
    process, made, facilitator = opinion_process()
    other, foreign, _ = opinion_process(("别的事情",))
    voter = make_user()
    statements.vote(db.session, voter, made[0], 1, utcnow())
    statements.vote(db.session, voter, foreign[0], 1, utcnow())
    db.session.commit()
    votes, newest, approved = statements.vote_fingerprint(db.session, process)
    assert (votes, approved) == (1, len(made)) and newest is not None
    statements.moderate(db.session, facilitator, made[0], "rejected")
    db.session.commit()
    assert statements.vote_fingerprint(db.session, process) == (0, None, len(made) - 1)


@pytest.mark.parametrize("min_votes", [1, 7])
def test_groups_name_their_statements(app, min_votes):
    process, made, _ = opinion_process()
    vote_in_camps(made, 16)
    groups = statements.opinion_groups(db.session, process, min_votes=min_votes)
    assert len(groups["groups"]) == 2 and groups["participants"] == 16
    texts = {s.text for s in made}
    named = [r for g in groups["groups"] for r in g["representative"]] + groups["consensus"]
    assert named and all(item["text"] in texts for item in named)
    assert "开辟儿童游乐区" in {c["text"] for c in groups["consensus"]}
