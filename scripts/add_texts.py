#!/usr/bin/env python
"""Add or change catalog texts.

Usage: .venv/bin/python scripts/add_texts.py DOMAIN /path/to/texts.py
texts.py defines M = {"key": ("中文", "English"), ...}; entries are added or overwritten in
bot/core/locales/{zh,en}/LC_MESSAGES/DOMAIN.po (created if missing)."""

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

domain, source = sys.argv[1], sys.argv[2]
ns: dict = {}
exec(Path(source).read_text(encoding="utf-8"), ns)
M = ns["M"]
for i, lang in enumerate(("zh", "en")):
    path = Path(f"bot/core/locales/{lang}/LC_MESSAGES/{domain}.po")
    cat = Catalog(locale=lang, project="Preboard")
    if path.exists():
        with path.open("rb") as fh:
            cat = read_po(fh, locale=lang)
    for k, v in M.items():
        if k in cat:
            cat[k].string = v[i]
        else:
            cat.add(k, v[i])
    with path.open("wb") as fh:
        write_po(fh, cat, width=0, sort_output=True)
print("ok", domain, len(M))
