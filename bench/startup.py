"""Start-up: seconds from launching ``run_bot.py console`` to its first prompt.

``python -m bench.startup [--runs 5]``

Each run starts ``run_bot.py console`` in a fresh subprocess on a pseudo-terminal, as a
person would (so it is the interactive console: the banner, the identity note, then the
prompt ``访客> ``), against a temporary SQLite database seeded with the demo cohort by
one unmeasured run first. The clock starts just before the process is spawned and stops
when the prompt appears on its stdout; then ``:quit`` is typed and the run must exit 0.

Two anchors, each the median of as many runs, say what the machine is doing at that
moment: a bare ``python -c pass`` (the interpreter alone) and
``python -c "import sqlalchemy, aiosqlite"`` (the least any start-up needs to reach a
database). ``ratio_to_sqlalchemy`` (median start-up / that anchor) moves far less with a
busy machine than the seconds do.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PROMPT = "访客> ".encode()  # adapters/console.py: f"{self.user}> ", first_user "访客"
TIMEOUT_S = 60.0


def _environ(folder: Path) -> dict[str, str]:
    """This process's environment without any bot setting, on a SQLite file in ``folder``."""
    environ = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    environ.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{folder}/startup.db",
        DATA_DIR=str(folder),
        PYTHONIOENCODING="utf-8",
    )
    return environ


def _console() -> list[str]:
    return [sys.executable, str(REPO / "run_bot.py"), "console"]


def seed(folder: Path) -> None:
    """One unmeasured run through a pipe: creates the schema and seeds the demo cohort."""
    subprocess.run(
        _console(),
        cwd=folder,  # no .env from the repository
        env=_environ(folder),
        input=":quit\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT_S,
        check=True,
    )


def time_to_prompt(folder: Path) -> float:
    """Seconds from spawning the interactive console to its first prompt on stdout."""
    errors = folder / "stderr.txt"  # told when a run fails
    master, slave = pty.openpty()
    with errors.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            _console(),
            cwd=folder,
            env=_environ(folder),
            stdin=slave,
            stdout=slave,
            stderr=stderr,
            close_fds=True,
        )
    os.close(slave)
    seen = b""
    elapsed: float | None = None
    try:
        deadline = started + TIMEOUT_S
        while elapsed is None:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no prompt within {TIMEOUT_S:.0f} s; output: {seen[-500:]!r}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal: it exited
                chunk = b""
            if not chunk:
                process.wait(timeout=TIMEOUT_S)
                tail = errors.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(
                    f"the console exited ({process.returncode}) before its prompt: "
                    f"{seen[-500:]!r}\n{tail}"
                )
            seen += chunk
            if PROMPT in seen:
                elapsed = time.perf_counter() - started
        os.write(master, b":quit\n")
        while True:  # drain, so the child never blocks on a full terminal
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    if not os.read(master, 65536):
                        break
                except OSError:
                    break
            elif process.poll() is not None:
                break
        code = process.wait(timeout=TIMEOUT_S)
        if code != 0:
            tail = errors.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"the console exited with {code}\n{tail}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return elapsed


def _time_python(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
    return time.perf_counter() - started


def run(runs: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="preboard-startup-") as tmp:
        folder = Path(tmp)
        seed(folder)
        times = [time_to_prompt(folder) for _ in range(runs)]
    bare = statistics.median(_time_python("pass") for _ in range(runs))
    anchor = statistics.median(_time_python("import sqlalchemy, aiosqlite") for _ in range(runs))
    median = statistics.median(times)
    return {
        "bench": "startup",
        "runs": runs,
        "db": "sqlite",
        "cpus": os.cpu_count(),
        "median_s": round(median, 3),
        "max_s": round(max(times), 3),
        "min_s": round(min(times), 3),
        "python_bare_s": round(bare, 3),
        "python_sqlalchemy_s": round(anchor, 3),
        "ratio_to_sqlalchemy": round(median / anchor, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured start-ups (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    print(json.dumps(run(args.runs), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
