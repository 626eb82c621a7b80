"""The matching engine's public surface: pure computation, no Flask, no database.

Typical flow for one central idea::

    relevance = IdeaRelevance().fit(priority_tokens, ids=priority_ids)
    weights = relevance.weights(idea_tokens, exclude=false_matches)
    online, assisted = weighted_distinct_people(person, priority, locality, weights, n, offline)
    ranking = rank_localities(localities, online, participants, assisted)
    selector = PortfolioSelector(k=40).fit(localities, ranking.score, ranking.eligible)
    table = compare_portfolios(selector, localities, ranking.score, ranking.eligible)
    pairs = match_comparisons(localities, selector.selected_)
"""

from massline.matching.comparison import ComparisonResult, match_comparisons
from massline.matching.data import LocalityData, standardise
from massline.matching.demand import BetaBinomialDemand, DemandEstimate
from massline.matching.evaluation import TradeoffPoint, compare_portfolios, tradeoff_curve
from massline.matching.metrics import (
    PortfolioMetrics,
    demand_lift,
    evaluate,
    generalizability_index,
    random_b_distribution,
    random_draw,
    standardized_mean_differences,
    top_k,
)
from massline.matching.portfolio import FAMILIES, PortfolioResult, PortfolioSelector
from massline.matching.ranking import RankedLocality, Ranking, rank_localities
from massline.matching.registry import load_county_registry
from massline.matching.relevance import IdeaRelevance, weighted_distinct_people
from massline.matching.strata import make_strata, proportional_quotas

__all__ = [
    "FAMILIES",
    "BetaBinomialDemand",
    "ComparisonResult",
    "DemandEstimate",
    "IdeaRelevance",
    "LocalityData",
    "PortfolioMetrics",
    "PortfolioResult",
    "PortfolioSelector",
    "RankedLocality",
    "Ranking",
    "TradeoffPoint",
    "compare_portfolios",
    "demand_lift",
    "evaluate",
    "generalizability_index",
    "load_county_registry",
    "make_strata",
    "match_comparisons",
    "proportional_quotas",
    "random_b_distribution",
    "random_draw",
    "rank_localities",
    "standardise",
    "standardized_mean_differences",
    "top_k",
    "tradeoff_curve",
    "weighted_distinct_people",
]
