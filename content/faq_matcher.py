"""Match a candidate's free-text question to an FAQ entry (Chinese, English or both mixed).

Text is normalised (NFKC folds full-width forms to half-width, then lower case), segmented by
jieba in search mode (mixed Chinese/English text is split into words either way), and stripped
of stop words and punctuation. Each entry is scored two ways:

- BM25 (rank-bm25, Okapi) over one document per entry: all its phrasings in both languages plus
  its keywords. The raw score is divided by the most the query's terms could score
  (``(k1 + 1) * sum(idf)``, a term the FAQ never uses counting at the highest idf), which puts
  it in [0, 1] and makes words the FAQ doesn't know lower the confidence;
- fuzzy similarity (rapidfuzz ``WRatio``, / 100) between the query's tokens and the closest of
  the entry's phrasings and keywords.

The confidence is ``BM25_WEIGHT * bm25 + (1 - BM25_WEIGHT) * fuzzy``; the best entry is answered
when it reaches ``THRESHOLD`` (and leads the runner-up by ``min_margin``), otherwise the
question goes to HR. The weight and threshold were tuned on ``tests/content/faq_dev.yaml``;
docs/faq-matching.md has the figures.

Build one :class:`FaqMatcher` per :class:`~content.models.ContentPack` at start-up and keep it.
Constructing it costs nothing: jieba, rank-bm25 and rapidfuzz are imported, jieba's dictionary
loaded (about a second) and the FAQ indexed on the first question, or earlier by :meth:`warm`
(the console calls it in a background thread once its prompt is up). Either way the index is
built once, under a lock, from the same entries, so every answer is the same; a match then
takes about a millisecond.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from content.models import FaqEntry

if TYPE_CHECKING:
    import jieba
    from rank_bm25 import BM25Okapi

BM25_WEIGHT = 0.5
THRESHOLD = 0.56
MIN_MARGIN = 0.0  # a margin only cost correct answers on the dev set
MAX_QUERY_CHARS = 1000  # longer messages are cut; a question is never this long
_K1 = 1.5  # rank_bm25's default, repeated for the normalisation

# Words jieba should keep whole, on top of the FAQ's Chinese keywords.
DOMAIN_WORDS: tuple[str, ...] = (
    "入职", "报到", "五险一金", "三方协议", "人才公寓", "年终奖", "餐补", "房补", "招行",
    "学信网", "飞书", "训练营", "背调", "体检", "转正", "试用期", "公积金", "社保", "调休",
    "加班费",
)  # fmt: skip

_ZH_STOP_TEXT = (
    "的 了 吗 呢 吧 啊 呀 么 嘛 我 我们 你 你们 您 是 有 在 要 能 会 可以 可不可以 能不能 "
    "什么 怎么 怎么样 怎样 如何 哪 哪些 哪里 哪儿 哪个 多少 还 都 也 和 与 或 就 那 这 "
    "那天 一下 请问 请 想 需要 公司 一般 具体 时候 几 给 个 到 去 来 做 没有 不 没"
)
_EN_STOP_TEXT = (
    "a an the i me my we our you your he she it its they them is am are was were be been "
    "being do does did doing have has had will would shall should can could may might must "
    "to of in on at for from by with about as into than then so and or but if not no yes "
    "what when where which who whom whose why how there here this that these those any some "
    "much many get got ok please"
)
ZH_STOP_WORDS = frozenset(_ZH_STOP_TEXT.split())
EN_STOP_WORDS = frozenset(_EN_STOP_TEXT.split())
STOP_WORDS = ZH_STOP_WORDS | EN_STOP_WORDS
_WORD_CHAR = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """A confident match: the entry, its confidence and the next best entry's (0 to 1)."""

    entry: FaqEntry
    score: float
    runner_up: float


_BASE_LOCK = threading.Lock()
_base_dictionary: tuple[dict[str, int], int] | None = None


def _new_tokenizer() -> jieba.Tokenizer:
    """A jieba tokenizer with its own copy of the base dictionary.

    Loading the dictionary costs most of a second; it is read once per process
    and copied for every matcher, so matchers can add their own words without
    sharing them.
    """
    global _base_dictionary
    import jieba

    with _BASE_LOCK:
        if _base_dictionary is None:
            jieba.setLogLevel(logging.WARNING)  # it logs "Building prefix dict ..." at DEBUG
            base = jieba.Tokenizer()
            base.initialize()
            _base_dictionary = (base.FREQ, base.total)
    freq, total = _base_dictionary
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total = dict(freq), total
    tokenizer.initialized = True
    return tokenizer


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, outer spaces trimmed."""
    return unicodedata.normalize("NFKC", text).lower().strip()


class FaqMatcher:
    """Index of the FAQ; :meth:`match` answers one question. Build once, keep, reuse."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        *,
        threshold: float = THRESHOLD,
        min_margin: float = MIN_MARGIN,
    ) -> None:
        self.entries: tuple[FaqEntry, ...] = tuple(entries)
        self.threshold = threshold
        self.min_margin = min_margin
        self._index_lock = threading.Lock()
        self._built = False
        self._jieba: jieba.Tokenizer | None = None
        self._phrases: list[str] = []  # tokens joined by spaces, for rapidfuzz
        self._owner: list[int] = []  # entry index of each phrase
        self._bm25: BM25Okapi | None = None
        self._max_idf = 0.0

    def warm(self) -> None:
        """Build the index now rather than on the first question (safe from any thread)."""
        self._ensure_index()

    def _ensure_index(self) -> None:
        if self._built:
            return
        with self._index_lock:
            if not self._built:
                self._build_index()
                self._built = True

    def _build_index(self) -> None:
        from rank_bm25 import BM25Okapi

        self._jieba = _new_tokenizer()
        words = [*DOMAIN_WORDS]
        words += [normalise(k) for e in self.entries for k in e.keywords.get("zh", [])]
        for word in words:
            if word and " " not in word:
                self._jieba.add_word(word)

        documents: list[list[str]] = []
        for index, entry in enumerate(self.entries):
            texts = [q for questions in entry.questions.values() for q in questions]
            texts += [k for keywords in entry.keywords.values() for k in keywords]
            document: list[str] = []
            for text in texts:
                tokens = self._tokenize(text)
                if tokens:
                    document += tokens
                    self._phrases.append(" ".join(tokens))
                    self._owner.append(index)
            documents.append(document)

        if any(documents):
            self._bm25 = BM25Okapi(documents, k1=_K1)
            self._max_idf = max(self._bm25.idf.values())

    def tokenize(self, text: str) -> list[str]:
        """Normalised words of ``text`` without stop words, punctuation or stray letters."""
        self._ensure_index()
        return self._tokenize(text)

    def _tokenize(self, text: str) -> list[str]:
        assert self._jieba is not None
        tokens: list[str] = []
        for raw in self._jieba.cut_for_search(normalise(text)):
            word = raw.strip()
            if not word or not _WORD_CHAR.search(word) or word in STOP_WORDS:
                continue
            if word.isascii() and len(word) < 2 and not word.isdigit():
                continue  # "s" of "what's", stray letters
            tokens.append(word)
        return tokens

    def scores(self, text: str) -> list[float]:
        """Confidence (0 to 1) of each entry, in the order given to the constructor."""
        from rapidfuzz import fuzz, process

        scores = [0.0] * len(self.entries)
        tokens = self.tokenize(text[:MAX_QUERY_CHARS])
        if not tokens or self._bm25 is None:
            return scores

        idf: dict[str, float] = self._bm25.idf
        bound = (_K1 + 1) * sum(idf.get(t, self._max_idf) for t in tokens)
        raw = self._bm25.get_scores(tokens)
        bm25 = [float(s) / bound if bound > 0 else 0.0 for s in raw]

        fuzzy = [0.0] * len(self.entries)
        hits = process.extract(" ".join(tokens), self._phrases, scorer=fuzz.WRatio, limit=None)
        for _, similarity, phrase_index in hits:
            owner = self._owner[phrase_index]
            fuzzy[owner] = max(fuzzy[owner], similarity / 100)

        return [BM25_WEIGHT * b + (1 - BM25_WEIGHT) * f for b, f in zip(bm25, fuzzy, strict=True)]

    def match(self, text: str) -> FaqMatch | None:
        """The entry that answers ``text``, or None when no entry is a confident match."""
        scores = self.scores(text)
        if not scores:
            return None
        ranked = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
        best = scores[ranked[0]]
        runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
        if best < self.threshold or best - runner_up < self.min_margin:
            return None
        return FaqMatch(entry=self.entries[ranked[0]], score=best, runner_up=runner_up)
