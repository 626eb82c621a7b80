"""Matching's database side: the saved relevance index, participant counts, and the queries
that read only what matches an idea."""
