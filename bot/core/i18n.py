"""The message catalog: every user-facing text, in Chinese and English.

Texts live in gettext ``.po`` catalogs under ``bot/core/locales/<lang>/LC_MESSAGES``,
one file per feature (``messages.po`` for the core, ``quiz.po`` ...), all
merged; a key defined twice is an error. Edit them with any PO editor; Babel
compiles them in memory at start-up,
so there is no build step and no stale ``.mo`` file. Message ids are stable
keys such as ``bind.welcome``; placeholders use ``str.format`` names.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = ("zh", "en")


class I18n:
    """Looks up and formats catalog texts for a language."""

    def __init__(self, default_language: str = "zh", locales: Path = LOCALES) -> None:
        self.default_language = default_language
        self._catalogs: dict[str, gettext.GNUTranslations] = {}
        self._keys: dict[str, set[str]] = {}
        for lang in LANGUAGES:
            merged = Catalog(locale=lang)
            for path in sorted((locales / lang / "LC_MESSAGES").glob("*.po")):
                with path.open("rb") as fh:
                    catalog = read_po(fh, locale=lang)
                for message in catalog:
                    if not message.id:
                        continue
                    if message.id in merged:
                        raise ValueError(
                            f"{path}: {message.id!r} is defined in another catalog too"
                        )
                    merged.add(message.id, message.string)
            self._keys[lang] = {str(m.id) for m in merged if m.id and m.string}
            buffer = io.BytesIO()
            write_mo(buffer, merged)
            buffer.seek(0)
            self._catalogs[lang] = gettext.GNUTranslations(buffer)

    def keys(self, lang: str) -> set[str]:
        return set(self._keys[lang])

    def language(self, lang: str | None) -> str:
        return lang if lang in self._catalogs else self.default_language

    def t(self, lang: str | None, key: str, /, **values: object) -> str:
        """The text for ``key`` in ``lang`` (falling back to the default language)."""
        lang = self.language(lang)
        text = self._catalogs[lang].gettext(key)
        if text == key and lang != self.default_language:
            text = self._catalogs[self.default_language].gettext(key)
        return text.format(**values) if values else text
