"""Paged lists: page numbers typed or tapped, clamping, slices."""

from __future__ import annotations

import pytest

from bot.core.paging import Page, offset_of, page_number


@pytest.mark.parametrize(
    ("text", "page"),
    [("3", 3), (" 2 ", 2), (None, 1), ("", 1), ("0", 1), ("-2", 1), ("²", 1), ("①", 1), ("x", 1)],
)
def test_page_number_reads_ascii_digits_only(text: str | None, page: int) -> None:
    assert page_number(text) == page


def test_page_is_clamped_to_the_pages_there_are() -> None:
    assert Page.of(9, size=10, total=25) == Page(3, 3, 10, 25)
    assert Page.of(0, size=10, total=25).number == 1
    empty = Page.of(4, size=10, total=0)
    assert (empty.number, empty.pages, empty.has_next) == (1, 1, False)


def test_rows_offset_and_numbering() -> None:
    items = list(range(25))
    second = Page.of(2, size=10, total=len(items))
    assert list(second.rows(items)) == list(range(10, 20))
    assert (second.offset, second.first, second.has_next) == (10, 11, True)
    last = Page.of(3, size=10, total=len(items))
    assert list(last.rows(items)) == [20, 21, 22, 23, 24] and not last.has_next
    assert offset_of(3, 20) == 40 and offset_of(0, 20) == 0
