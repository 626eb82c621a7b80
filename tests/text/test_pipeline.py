"""The shared Chinese text pipeline: normalisation, topic tokens, search tokens."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from massline.text import analyse, normalize, search_tokens, stop_words, tokenize


def test_normalize_folds_width_case_space_and_traditional() -> None:
    assert normalize("ＡＢＣ１２３\u3000  Hello\tWorld") == "abc123 hello world"
    assert normalize("臺灣的資訊") == "台湾的资讯"
    assert normalize("") == ""


def test_tokenize_drops_form_and_places_keeps_topic() -> None:
    tokens = tokenize("尊敬的领导：您好！A市A3区K8县西地省小区物业乱收停车费，请问怎么办？谢谢！")
    assert {"物业", "停车费"} <= set(tokens)
    for form in ("领导", "您好", "请问", "怎么办", "谢谢", "a市", "a3区", "k8县", "西地省", "，"):
        assert form not in tokens
    assert all(len(t) > 1 for t in tokens)


def test_tokenize_adds_dictionary_subwords() -> None:
    assert {"养老保险", "养老", "保险"} <= set(tokenize("养老保险"))


def test_search_tokens_keep_places_and_expand_long_words() -> None:
    tokens = search_tokens("A3区住房公积金的问题")
    assert "a3区" in tokens and "公积金" in tokens and "住房公积金" in tokens
    assert "的" not in tokens
    assert len(tokens) == len(set(tokens))


def test_analyse_matches_the_single_purpose_functions() -> None:
    text = "K8县中学乱收补课费，家长负担重"
    result = analyse(text)
    assert result.tokens == tokenize(text)
    assert result.search_tokens == search_tokens(text)


def test_no_chinese_emoji_and_stop_words_only() -> None:
    assert tokenize("Pothole on Main Street 😀🚧") == ["pothole", "on", "main", "street"]
    assert tokenize("😀🚧!!!") == []
    assert tokenize("请问怎么办？谢谢领导！") == []
    assert "请问" in stop_words()


def test_concurrent_first_use_is_safe() -> None:
    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(tokenize("小区电梯故障"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({tuple(r) for r in results}) == 1


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_tokenizers_never_crash_and_yield_clean_tokens(text: str) -> None:
    tokens = tokenize(text)
    assert all(isinstance(t, str) and len(t) > 1 and not t.isspace() for t in tokens)
    found = search_tokens(text)
    assert len(found) == len(set(found))
