"""Preboard's entry point: ``python run_bot.py --help``."""

from bot.runtime.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
