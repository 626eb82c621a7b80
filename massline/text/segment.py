"""Chinese segmentation: one jieba pass yields both topic tokens and search tokens."""

from __future__ import annotations

import logging
import re
import threading
from functools import cache
from importlib import resources
from typing import NamedTuple

import jieba

from massline.text.normalize import normalize

__all__ = ["Analysis", "analyse", "search_tokens", "stop_words", "tokenize"]

# HMM new-word discovery invents unstable compounds that fragment topic vectors and costs
# about a third of the segmentation time; the user dictionary covers the domain words instead.
HMM = False

# Anonymised administrative units (A市, A3区, K8县, M6州...) after normalize() lowercased them.
# Split out before jieba, which otherwise glues the suffix to the next word (县西, 地省).
_PLACE_CODE = re.compile(r"(?<![a-z])([a-z]\d{0,2}[省市区县州镇乡村])")
_HAS_WORD_CHAR = re.compile(r"\w")
_ONLY_DIGITS_OR_PUNCT = re.compile(r"[\W\d_]+")

# Grammatical particles: never useful in search, unlike the wider topic stop-word list.
_PARTICLES = frozenset("的地得了着过吗呢吧啊呀嘛哦么之与和及或而也都就")

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


class Analysis(NamedTuple):
    """Both token lists of one text, from a single segmentation pass."""

    tokens: list[str]
    search_tokens: list[str]


def _read_words(name: str) -> list[str]:
    text = resources.files("massline.text").joinpath("data", name).read_text("utf-8")
    return [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]


@cache
def stop_words() -> frozenset[str]:
    """The stop words dropped from topic tokens (already normalised)."""
    return frozenset(normalize(w) for w in _read_words("stopwords.txt"))


def _get_tokenizer() -> jieba.Tokenizer:
    """Build our own jieba tokenizer once, so the global jieba.dt of other code is untouched."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for word in _read_words("userdict.txt"):
                    tokenizer.add_word(normalize(word))
                _tokenizer = tokenizer
    return _tokenizer


def _segment(text: str) -> list[str]:
    """Segment normalised text; place codes come out as single words."""
    tokenizer = _get_tokenizer()
    words: list[str] = []
    for i, piece in enumerate(_PLACE_CODE.split(text)):
        if i % 2:
            words.append(piece)
        elif piece:
            words.extend(tokenizer.cut(piece, HMM=HMM))
    return words


def _is_content(word: str, stops: frozenset[str]) -> bool:
    return (
        len(word) > 1
        and word not in stops
        and _PLACE_CODE.fullmatch(word) is None
        and _ONLY_DIGITS_OR_PUNCT.fullmatch(word) is None
    )


def _search_expand(words: list[str], freq: dict[str, int]) -> list[str]:
    """jieba.cut_for_search's expansion (dictionary 2- and 3-grams of long words), deduplicated."""
    seen: dict[str, None] = {}
    for word in words:
        if len(word) > 2:
            for n in (2, 3):
                for i in range(len(word) - n + 1):
                    gram = word[i : i + n]
                    if freq.get(gram):
                        seen.setdefault(gram)
        if word not in _PARTICLES and _HAS_WORD_CHAR.search(word):
            seen.setdefault(word)
    return list(seen)


def _content_tokens(words: list[str], freq: dict[str, int]) -> list[str]:
    """Content words, each followed by its dictionary sub-words (养老保险 → 养老, 保险).

    The sub-words give short texts overlap on topic (医疗保险 and 医保 both yield 医疗/保险...):
    on titles alone this lifts clustering NMI from 0.26 to 0.31 (see docs/themes.md).
    """
    stops = stop_words()
    tokens: list[str] = []
    for word in words:
        if not _is_content(word, stops):
            continue
        tokens.append(word)
        if len(word) > 2:
            for n in (2, 3):
                for i in range(len(word) - n + 1):
                    gram = word[i : i + n]
                    if gram != word and freq.get(gram) and gram not in stops:
                        tokens.append(gram)
    return tokens


def analyse(text: str) -> Analysis:
    """Normalise and segment once; return topic tokens and search tokens."""
    words = _segment(normalize(text))
    freq = _get_tokenizer().FREQ
    return Analysis(_content_tokens(words, freq), _search_expand(words, freq))


def tokenize(text: str) -> list[str]:
    """Content tokens for topic vectors: no stop words, places, punctuation or single chars."""
    return _content_tokens(_segment(normalize(text)), _get_tokenizer().FREQ)


def search_tokens(text: str) -> list[str]:
    """Tokens for full-text search (jieba cut_for_search), place names kept, deduplicated."""
    return _search_expand(_segment(normalize(text)), _get_tokenizer().FREQ)
