"""Facilitated processes: dated stages, stage-gated actions, statements and opinion groups."""
