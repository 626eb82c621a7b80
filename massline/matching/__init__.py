"""Matching: rank localities as pilot sites for central ideas; choose representative portfolios."""
