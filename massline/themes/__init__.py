"""Themes: clustering priorities into named themes, and near-duplicate detection."""
