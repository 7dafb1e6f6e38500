"""What a candidate's free text is, before anything is sent to HR: noise or a question.

A thank-you or a hello gets one back. Noise (emoji or punctuation only, a stray
letter, a keyboard mash, a paste far longer than a question) gets a short, kind reply
with examples; a question the FAQ cannot answer is offered to HR, and only becomes a
ticket when the candidate says yes.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

MAX_QUESTION_CHARS = 500  # longer is a paste, not a question
QUOTE_CHARS = 300  # what staff notices quote of a question (the whole text is in /reply)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_VOWELS = set("aeiouy")


# Thanks and acknowledgements: answered kindly, never sent to HR.
_ACKS = {
    "谢谢",
    "谢谢你",
    "多谢",
    "感谢",
    "好的",
    "好",
    "嗯",
    "嗯嗯",
    "收到",
    "知道了",
    "明白了",
    "ok",
    "okay",
    "thanks",
    "thank you",
    "thx",
    "got it",
    "好的谢谢",
    "谢啦",
    # "nothing to ask", e.g. in the survey's open question
    "没有",
    "没有了",
    "暂时没有",
    "暂无",
    "无",
    "没",
    "没什么",
    "没问题",
    "none",
    "no",
    "nope",
    "nothing",
    "no questions",
}
# Greetings: answered with a hello and what the bot can do, never offered to HR.
_GREETINGS = {
    "你好",
    "您好",
    "你好呀",
    "你好啊",
    "hi",
    "hello",
    "hey",
    "嗨",
    "哈喽",
    "哈啰",
    "在吗",
    "在么",
    "在不在",
    "有人吗",
    "早",
    "早上好",
    "上午好",
    "中午好",
    "下午好",
    "晚上好",
    "good morning",
    "good afternoon",
    "good evening",
    "hi there",
    "hello there",
}
_TRAILING = "!！.。~～?？ 😊🙏👍👋"


class Intent(StrEnum):
    ACK = "ack"
    GREETING = "greeting"
    NOISE = "noise"
    TOO_LONG = "too_long"
    QUESTION = "question"


def _letters(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def _mashed(word: str) -> bool:
    """A long Latin "word" with hardly a vowel, or a row of the keyboard (asdfghjkl)."""
    lowered = word.lower()
    if len(lowered) < 6:
        return False
    vowels = sum(1 for ch in lowered if ch in _VOWELS)
    rows = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    on_a_row = any(lowered in row or row.startswith(lowered[:5]) for row in rows)
    return on_a_row or vowels / len(lowered) < 0.15


def classify(text: str) -> Intent:
    """ACK, GREETING, NOISE, TOO_LONG or QUESTION (anything with enough words to be one)."""
    stripped = text.strip()
    bare = stripped.lower().strip(_TRAILING)
    if bare in _ACKS:
        return Intent.ACK
    if bare in _GREETINGS:
        return Intent.GREETING
    if len(stripped) > MAX_QUESTION_CHARS:
        return Intent.TOO_LONG
    letters = _letters(stripped)
    cjk = len(_CJK.findall(stripped))
    words = _LATIN_WORD.findall(stripped)
    if not letters:
        return Intent.NOISE  # emoji, punctuation, "？？？"
    if cjk == 0 and len(words) == 1 and (len(words[0]) < 3 or _mashed(words[0])):
        return Intent.NOISE  # "A", "ok", "asdfghjkl"
    if cjk == 0 and not words and len(letters) < 4:
        return Intent.NOISE  # a few digits
    if 0 < cjk < 2 and not words:
        return Intent.NOISE  # one character: "啊"
    return Intent.QUESTION


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` cut to ``limit`` characters for a notice (with an ellipsis when cut)."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
