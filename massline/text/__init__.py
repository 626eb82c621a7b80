"""The one Chinese text pipeline shared by themes, matching and full-text search.

``analyse`` segments once and returns both token lists; store them when a priority is written
so that rebuilds never segment again.
"""

from massline.text.normalize import normalize
from massline.text.segment import Analysis, analyse, search_tokens, stop_words, tokenize

__all__ = ["Analysis", "analyse", "normalize", "search_tokens", "stop_words", "tokenize"]
