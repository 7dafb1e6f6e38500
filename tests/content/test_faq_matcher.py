"""The FAQ matcher on the real content pack: the held-out set, the dev set and odd input.

The held-out figures are printed to the terminal even when the tests pass (and are in the
assertion message when they fail); docs/faq-matching.md records them.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from content import ContentPack, FaqEntry, FaqMatch, FaqMatcher, Text, load_content

HERE = Path(__file__).parent
# Written blind (from the FAQ's ids and answers only) after the matcher and threshold were
# fixed: v3 in issue #12 (measured once, docs/faq-matching.md); v2 is seen by now.
HELDOUT = HERE / "faq_heldout_v3.yaml"
HELDOUT_V2 = HERE / "faq_heldout_v2.yaml"
DEV = HERE / "faq_dev.yaml"
# The first held-out set; seen while the FAQ content was tuned, so now development data.
DEV_SEEN = HERE / "faq_dev_seen.yaml"
MIN_ACCURACY = 0.80  # top-1 on questions the FAQ answers
# Share of unanswerable questions that still get an (on-topic but wrong) answer; the
# candidate can still tap "no, ask HR". Set at 1/2 AFTER measuring 6/16 on the held-out
# set (docs/faq-matching.md): a regression guard, not a tuned target.
MAX_FALSE_ANSWERS = 1 / 2


@pytest.fixture(scope="module")
def pack() -> ContentPack:
    return load_content()


@pytest.fixture(scope="module")
def matcher(pack: ContentPack) -> FaqMatcher:
    return FaqMatcher(pack.faq)


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _load(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


@dataclass
class Figures:
    name: str
    total: int = 0
    correct: int = 0  # answered with the expected entry, or refused when none is expected
    answerable: dict[str, list[int]] = field(default_factory=lambda: {"zh": [0, 0], "en": [0, 0]})
    unanswerable: int = 0
    false_answers: int = 0
    misses: list[str] = field(default_factory=list)
    excluded: int = 0

    @property
    def answerable_accuracy(self) -> float:
        ok = sum(v[0] for v in self.answerable.values())
        return ok / max(1, sum(v[1] for v in self.answerable.values()))

    @property
    def false_answer_rate(self) -> float:
        return self.false_answers / max(1, self.unanswerable)

    def report(self) -> str:
        zh_ok, zh_n = self.answerable["zh"]
        en_ok, en_n = self.answerable["en"]
        ans_ok, ans_n = zh_ok + en_ok, zh_n + en_n
        lines = [
            f"FAQ matcher on {self.name}: top-1 accuracy {self.correct}/{self.total} "
            f"= {self.correct / max(1, self.total):.1%} (correct answer, or refusal when null; "
            f"{self.excluded} questions identical to an FAQ phrasing left out)",
            f"  answerable: {ans_ok}/{ans_n} = {self.answerable_accuracy:.1%} "
            f"(zh {zh_ok}/{zh_n}, en {en_ok}/{en_n})",
            f"  unanswerable: {self.false_answers}/{self.unanswerable} got a (wrong) answer "
            f"= {self.false_answer_rate:.1%}",
            *(f"  miss: {miss}" for miss in self.misses),
        ]
        return "\n".join(lines)


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _evaluate(matcher: FaqMatcher, path: Path, exclude: set[str] = frozenset()) -> Figures:
    """Score a question set, leaving out questions identical to an FAQ phrasing."""
    figures = Figures(name=path.name)
    for item in _load(path):
        question, expect = item["q"], item["expect"]
        if _norm(question) in exclude:
            figures.excluded += 1
            continue
        found = matcher.match(question)
        got = found.entry.id if found else None
        figures.total += 1
        figures.correct += got == expect
        if expect is None:
            figures.unanswerable += 1
            figures.false_answers += got is not None
        else:
            counts = figures.answerable["zh" if _is_chinese(question) else "en"]
            counts[0] += got == expect
            counts[1] += 1
        if got != expect:
            figures.misses.append(f"{question!r}: expected {expect}, got {got}")
    return figures


def test_heldout_accuracy(
    pack: ContentPack, matcher: FaqMatcher, capsys: pytest.CaptureFixture[str]
) -> None:
    phrasings = {_norm(q) for e in pack.faq for qs in e.questions.values() for q in qs}
    figures = _evaluate(matcher, HELDOUT, exclude=phrasings)
    report = figures.report()
    with capsys.disabled():  # visible in the pytest output without -s or -rA
        print("\n" + report)
    assert figures.total >= 90, report
    assert figures.correct / figures.total >= MIN_ACCURACY, report
    assert figures.answerable_accuracy >= MIN_ACCURACY, report
    assert figures.false_answer_rate <= MAX_FALSE_ANSWERS, report


@pytest.mark.parametrize("path", [DEV, DEV_SEEN, HELDOUT_V2], ids=["dev", "dev_seen", "heldout_v2"])
def test_development_sets_are_reported(
    matcher: FaqMatcher, path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Figures on the data the matcher was tuned with; printed, only loosely asserted."""
    figures = _evaluate(matcher, path)
    with capsys.disabled():
        print("\n" + figures.report())
    assert figures.answerable_accuracy >= 0.6


@pytest.mark.parametrize(
    ("question", "expect"),
    [
        ("HR 的 email 是什么", "contact_hr"),
        ("laptop 是公司发的吗", "laptop"),
        ("五险一金 什么时候交 social insurance", "social_insurance"),
        ("What's the dress code? 要穿正装吗", "dress_code"),
        ("ＨＲ的联系方式", "contact_hr"),  # full-width letters
        ("DOES THE COMPANY PROVIDE HOUSING", "housing"),
    ],
)
def test_mixed_languages_and_forms(matcher: FaqMatcher, question: str, expect: str) -> None:
    found = matcher.match(question)
    assert found is not None and found.entry.id == expect, found
    assert 0 < found.runner_up < found.score <= 1


def test_mixed_text_is_tokenised_by_word(matcher: FaqMatcher) -> None:
    assert matcher.tokenize("offer 什么时候发") == ["offer", "发"]
    assert matcher.tokenize("Ｏｆｆｅｒ 什么时候发？") == ["offer", "发"]
    found = matcher.match("offer 什么时候发")  # not in the FAQ; must not raise
    assert found is None or isinstance(found, FaqMatch)


@pytest.mark.parametrize(
    "text",
    [
        *("", "   ", "？？？", "???", "asdfgh", "😀😀😀", "🎉", "。。。！！", "\n\t"),
        *("a", "的了吗"),
        *("3", "12", "１２", "3?", "2026-07-01", "1 2 3"),  # bare numbers: a choice, not a question
    ],
)
def test_garbage_is_not_answered(matcher: FaqMatcher, text: str) -> None:
    assert matcher.match(text) is None


def test_very_long_input(matcher: FaqMatcher) -> None:
    found = matcher.match("我是外地的应届生，想问一下公司提供住宿吗？")
    assert found is not None and found.entry.id == "housing"
    matcher.match("请问公司提供住宿吗？" * 2000)  # long input is cut, not an error
    assert matcher.match("asdf " * 20000) is None


def test_faq_phrasings_match_their_entry(pack: ContentPack, matcher: FaqMatcher) -> None:
    total, wrong = 0, []
    for entry in pack.faq:
        for questions in entry.questions.values():
            for question in questions:
                total += 1
                found = matcher.match(question)
                if found is None or found.entry.id != entry.id:
                    wrong.append((question, entry.id, found and found.entry.id))
    # a phrasing whose only content word is shared ("去哪里上班": 上班) may lose; few do
    assert len(wrong) <= total // 20, wrong


def _entry(entry_id: str, zh: list[str], en: list[str]) -> FaqEntry:
    text = Text(zh="答", en="answer")
    return FaqEntry(id=entry_id, questions={"zh": zh, "en": en}, answer=text)


def test_small_and_empty_packs() -> None:
    assert FaqMatcher([]).match("公司提供住宿吗") is None
    two = FaqMatcher(
        [
            _entry("housing", ["公司提供住宿吗"], ["Is there housing?"]),
            _entry("payday", ["几号发工资"], ["When is payday?"]),
            _entry("dress", ["上班穿什么"], ["What should I wear?"]),  # BM25 idf needs 3+ entries
        ]
    )
    found = two.match("公司提供住宿吗？")
    assert found is not None and found.entry.id == "housing"
    assert two.match("今天天气怎么样") is None
    # phrasings made of stop words only leave an empty index: nothing matches, nothing fails
    assert FaqMatcher([_entry("x", ["什么"], ["what"])]).match("什么") is None


def test_the_index_is_built_once_on_first_use_or_by_warm(pack: ContentPack) -> None:
    """Construction is free; questions asked while a warm-up thread builds the index wait
    for it and get the answers a matcher built up front gives."""
    questions = ["公司提供住宿吗", "when do I get paid", "体检在哪里做", "asdfgh"]
    eager = FaqMatcher(pack.faq)
    eager.warm()
    expected = [eager.match(q) for q in questions]
    lazy = FaqMatcher(pack.faq)
    assert not lazy._built and lazy._bm25 is None  # nothing indexed yet
    warm = threading.Thread(target=lazy.warm)
    warm.start()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lazy.match, questions))
    warm.join()
    phrases = len(lazy._phrases)
    lazy.warm()  # again: nothing rebuilt
    assert lazy._phrases == eager._phrases and phrases == len(eager._phrases)
    assert answers == expected
    assert [lazy.match(q) for q in questions] == expected
