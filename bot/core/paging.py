"""Paged lists in chat, written once: page arithmetic, page numbers typed or tapped.

Every list command follows one pattern: ``/cmd [page]`` typed, or a "next page"
button whose payload ends in the page number; both read the number with
:func:`page_number` and lay out rows with :class:`Page`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.core.text import number

T = TypeVar("T")


def page_number(text: str | None) -> int:
    """A requested page (:func:`bot.core.text.number`; ``²`` and ``①`` are not numbers), else 1."""
    value = number(text)
    return value if value is not None and value > 0 else 1


def offset_of(requested: int, size: int) -> int:
    """Where page ``requested`` starts, for a query that counts the total itself."""
    return (max(requested, 1) - 1) * size


@dataclass(frozen=True, slots=True)
class Page:
    """Page ``number`` of ``pages``, ``size`` rows each, ``total`` rows in all."""

    number: int
    pages: int
    size: int
    total: int

    @classmethod
    def of(cls, requested: int, *, size: int, total: int) -> Page:
        """The page to show for a request, clamped to the pages there are (at least one)."""
        pages = max(1, (total + size - 1) // size)
        return cls(min(max(requested, 1), pages), pages, size, total)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        """The 1-based list number of this page's first row."""
        return self.offset + 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def rows(self, items: Sequence[T]) -> Sequence[T]:
        """This page's slice of a list held in memory."""
        return items[self.offset : self.offset + self.size]


__all__ = ["Page", "offset_of", "page_number"]
