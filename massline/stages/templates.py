"""Stage templates: vTaiwan's four stages and Chengdu's participatory budgeting."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StageTemplate:
    """A stage's kind, default title, allowed actions and length in days."""

    kind: str
    title: str
    actions: tuple[str, ...]
    days: int


TEMPLATES: dict[str, tuple[StageTemplate, ...]] = {
    "vtaiwan": (
        StageTemplate("proposal", "提出建议", ("submit", "support", "comment"), 14),
        StageTemplate("opinion", "意见征集", ("statement", "vote", "comment"), 14),
        StageTemplate("reflection", "讨论反思", ("comment",), 7),
        StageTemplate("decision", "决定与答复", (), 14),
    ),
    "chengdu_pb": (
        StageTemplate("outreach", "宣传动员", ("comment",), 14),
        StageTemplate("ideas", "收集项目建议", ("submit", "comment"), 21),
        StageTemplate("deliberation", "议事协商", ("statement", "vote", "comment"), 14),
        StageTemplate("voting", "投票表决", ("support",), 7),
        StageTemplate("implementation", "项目实施", ("comment",), 90),
        StageTemplate("evaluation", "评议", ("rate", "comment"), 30),
    ),
}
