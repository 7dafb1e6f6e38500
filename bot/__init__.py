"""The core of Preboard, in rooms by domain (see docs/architecture.md).

``core`` (messaging), ``people``, ``scoring``, ``pushes``, ``support``, ``reports``,
``handlers`` (chat commands) and ``runtime`` (the process). It imports neither
``adapters/`` nor ``flows/``: ``run_bot.py`` hands them in.
"""
