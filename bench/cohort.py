"""Cohort simulation: does the stability score predict reneging?

``python -m bench.cohort [--n 1000] [--days 60] [--seed 7] [--weights ...] [--true-weights ...]``

Each simulated candidate has five hidden dispositions z (one per indicator,
standard normal, correlated 0.4 through a shared factor). Their hidden propensity
to renege is ``p = sigmoid(-1.6 - 2.2 * s)`` with ``s`` the true-weighted mean of
the dispositions (``--true-weights``, by default the score's default weights), and
``reneged ~ Bernoulli(p)``. Behaviour over ``--days`` days after the offer follows
the dispositions, with noise:

- interaction: the bot sends two pushes a week and a few notices; each is answered
  (text, tap or link click) with probability sigmoid(0.8 + 1.5 z), after a log-normal
  delay (median exp(1.6 - 1.1 z) hours); spontaneous messages ~ Poisson(exp(-0.7 + 0.8 z))
  a day; with probability sigmoid(-2 - 1.5 z) the candidate goes silent from a random
  day on (nothing at all after it);
- dates: training starts on a day uniform in [days - 10, days + 40] (so at the end
  some have started and most still wait), documents are due ten days before it;
- training: three courses of five questions, each attempted with probability
  sigmoid(1 + 1.5 z) on a random day before the training date; correct answers
  ~ Binomial(5, 0.72 + 0.1 z), passed at 4; minutes ~ log-normal around 6 + 2 z
  (five taps per attempt);
- feedback: the survey is answered with probability sigmoid(0.5 + 1.6 z) on a random
  day, three ratings round(3.8 + 0.8 z + N(0, 0.7)) in 1..5; questions ~ Poisson;
- completeness: six documents, each submitted with probability sigmoid(1.2 + 1.6 z)
  on a random day before the deadline (approved 90 %); phone 98 %, email 90 %, bound
  with probability sigmoid(2 + z_interaction);
- external: another offer with probability sigmoid(-1.8 - 1.5 z); the survey then says
  "yes" (60 %) or "private"; without one, "no" (90 %) or "private"; HR tags 35 % of the
  other offers; 8 % ask for more time on the offer (twice as often with another offer).

The simulated events become :class:`storage.signals.Facts` and go through the real
``bot.scoring.signals.aggregate`` and ``bot.scoring.model.compute``; only the SQL of
``storage.signals.gather_facts`` is bypassed (tests/bot/test_score_jobs.py checks that
part against real rows). Candidates who never bound are "not reached yet": not
scored, as in the product, and counted apart (``unreached_share``, with the share of
them who reneged). Each bound candidate is scored on the last 8 days (the history feeds
the drop rule) and the final score is compared with the outcome: ``auc`` is the AUC of
the score for reneging with the weights used (``--weights``, default the settings'
defaults), ``auc_fitted`` the cross-validated AUC of weights fitted by
``bot.scoring.calibrate`` (the same code as ``run_bot.py calibrate``) on the final indicators.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sklearn.metrics import roc_auc_score

from bot.scoring import calibrate
from bot.scoring.model import DEFAULT_WEIGHTS, INDICATORS, Thresholds, compute, normalise
from bot.scoring.signals import aggregate
from storage.signals import CourseFact, Facts, SurveyFact

START = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # the offer: 10:00 in Shanghai
COURSES = 3
QUESTIONS = 5
PASS_AT = 4
DOCUMENTS = tuple(f"doc{i}" for i in range(6))
RATING_TOPICS = ("hr_communication", "next_steps", "confidence")
CORRELATION = 0.4
RENEGE_BASE = -2.0
RENEGE_SLOPE = 2.5
HISTORY_DAYS = 7


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@dataclass
class Simulated:
    """One candidate's hidden state and everything they did."""

    z: dict[str, float]
    propensity: float
    reneged: bool
    stability: float
    sent_at: list[datetime] = field(default_factory=list)
    interactions: list[tuple[datetime, str]] = field(default_factory=list)
    courses: list[tuple[datetime, CourseFact]] = field(default_factory=list)
    survey: tuple[datetime, SurveyFact] | None = None
    questions_at: list[datetime] = field(default_factory=list)
    documents: list[tuple[datetime, str, str]] = field(default_factory=list)
    has_phone: bool = True
    has_email: bool = True
    bound_at: datetime | None = None
    tag_at: datetime | None = None
    delayed: bool = False
    training_day: float = 0.0  # days after the offer
    documents_day: float = 0.0


def parse_weights(text: str | None) -> dict[str, float]:
    """ "training=60,external=30" -> weights (unnamed indicators get 0); None -> defaults."""
    if not text:
        return dict(DEFAULT_WEIGHTS)
    weights = dict.fromkeys(INDICATORS, 0.0)
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in weights:
            raise SystemExit(f"unknown indicator {name!r} (use {', '.join(INDICATORS)})")
        weights[name] = float(value)
    return weights


def _at(day: float) -> datetime:
    return START + timedelta(days=day)


def simulate(rng: np.random.Generator, days: int, true_weights: Mapping[str, float]) -> Simulated:
    """One candidate over ``days`` days after the offer."""
    shared = rng.normal()
    z = {
        name: CORRELATION * shared + math.sqrt(1 - CORRELATION**2) * rng.normal()
        for name in INDICATORS
    }
    w = normalise(true_weights)
    norm = math.sqrt(sum(v * v for v in w.values())) or 1.0
    stability = sum(w[name] * z[name] for name in INDICATORS) / norm
    p = sigmoid(RENEGE_BASE - RENEGE_SLOPE * stability)
    c = Simulated(z=z, propensity=p, reneged=bool(rng.random() < p), stability=stability)
    c.training_day = float(rng.uniform(days - 10, days + 40))
    c.documents_day = max(3.0, c.training_day - 10)

    # interaction
    zi = z["interaction"]
    silent_from = float(days + 1)
    if rng.random() < sigmoid(-2.0 - 1.5 * zi):
        silent_from = float(rng.uniform(5, days))

    def active(day: float) -> bool:
        return day < silent_from and day <= days

    c.bound_at = _at(float(rng.uniform(0, 2))) if rng.random() < sigmoid(2.0 + zi) else None
    bound_day = (c.bound_at - START).total_seconds() / 86400 if c.bound_at else None
    sends = [week * 7 + offset for week in range(days // 7 + 1) for offset in (1.0, 4.0)]
    sends += list(rng.uniform(0, days, size=rng.poisson(3)))
    for day in sorted(s for s in sends if s <= days):
        if bound_day is None or day < bound_day:
            continue
        c.sent_at.append(_at(day))
        if rng.random() < sigmoid(0.8 + 1.5 * zi):
            delay = float(rng.lognormal(1.6 - 1.1 * zi, 1.0)) / 24
            if active(day + delay):
                kind = str(rng.choice(["text", "button", "click"], p=[0.6, 0.3, 0.1]))
                c.interactions.append((_at(day + delay), kind))
    if bound_day is not None:
        c.interactions.append((_at(bound_day), "text"))
        for day in range(days):
            for _ in range(rng.poisson(math.exp(-0.7 + 0.8 * zi))):
                moment = day + float(rng.random())
                if moment >= bound_day and active(moment):
                    c.interactions.append((_at(moment), "text"))

    # training
    zt = z["training"]
    for _course in range(COURSES):
        if bound_day is None or rng.random() >= sigmoid(1.0 + 1.5 * zt):
            continue
        day = float(rng.uniform(bound_day, max(bound_day + 1, c.training_day)))
        best = 0
        first: datetime | None = None
        done: datetime | None = None
        minutes_total = 0.0
        for _attempt in range(3):  # retakes while not passed, if persistent enough
            if not active(day):
                break
            correct = int(rng.binomial(QUESTIONS, min(0.98, max(0.2, 0.78 + 0.1 * zt))))
            minutes = float(rng.lognormal(math.log(max(1.0, 6 + 2 * zt)), 0.5))
            started = _at(day)
            first = first or started
            best = max(best, correct)
            minutes_total += minutes
            c.interactions += [
                (started + timedelta(minutes=minutes * k / QUESTIONS), "button")
                for k in range(QUESTIONS)
            ]
            if correct >= PASS_AT:
                done = first + timedelta(minutes=minutes_total)
                break
            if rng.random() >= sigmoid(0.5 + 1.5 * zt):
                break
            day += float(rng.uniform(0.5, 5))
        if first is not None:
            passed = done is not None
            end = done or first + timedelta(minutes=minutes_total)
            c.courses.append((end, CourseFact(passed, best, QUESTIONS, first, done)))

    # feedback and external
    zf, ze = z["feedback"], z["external"]
    has_offer = rng.random() < sigmoid(-1.8 - 1.5 * ze)
    if has_offer:
        answer = "yes" if rng.random() < 0.6 else None  # None is "private", as stored
    else:
        answer = "no" if rng.random() < 0.9 else None
    if bound_day is not None and rng.random() < sigmoid(0.8 + 1.8 * zf):
        day = float(rng.uniform(max(8.0, bound_day), max(9.0, days * 0.5)))
        if active(day):
            ratings = {
                t: int(min(5, max(1, round(3.8 + 0.8 * zf + rng.normal(0, 0.7)))))
                for t in RATING_TOPICS
            }
            c.survey = (_at(day), SurveyFact(ratings, answer, ""))
            c.interactions += [(_at(day) + timedelta(minutes=k), "button") for k in range(5)]
    if has_offer and rng.random() < 0.35:
        c.tag_at = _at(float(rng.uniform(0, days)))
    c.delayed = bool(rng.random() < (0.16 if has_offer else 0.08))
    if bound_day is not None:
        for _ in range(rng.poisson(days / 14 * math.exp(-1.2 + 0.6 * zf))):
            day = float(rng.uniform(bound_day, days))
            if active(day):
                c.questions_at.append(_at(day))
                c.interactions.append((_at(day), "text"))

    # completeness
    zc = z["completeness"]
    for item in DOCUMENTS:
        if bound_day is None or rng.random() >= sigmoid(1.2 + 1.6 * zc):
            continue
        day = float(rng.uniform(bound_day, max(bound_day + 1, c.documents_day)))
        if active(day):
            status = "approved" if rng.random() < 0.9 else "rejected"
            c.documents.append((_at(day), item, status))
            c.interactions.append((_at(day), "file"))
    c.has_phone = bool(rng.random() < 0.98)
    c.has_email = bool(rng.random() < 0.9)
    return c


def facts_at(c: Simulated, now: datetime, recent_scores: Sequence[int]) -> Facts:
    """What the tables would hold about ``c`` at ``now`` (the input of gather_facts)."""
    interactions = [(at, kind) for at, kind in c.interactions if at <= now]
    documents: dict[str, str] = {}
    for at, item, status in sorted(c.documents):
        if at <= now:
            documents[item] = "submitted" if now - at < timedelta(days=2) else status
    return Facts(
        start=START,
        training_due=_at(c.training_day),
        documents_due=_at(c.documents_day),
        sent_at=[at for at in c.sent_at if at <= now],
        interactions=interactions,
        last_interaction_at=max((at for at, _ in interactions), default=None),
        courses_assigned=COURSES,
        courses=[course for at, course in c.courses if at <= now],
        survey=c.survey[1] if c.survey is not None and c.survey[0] <= now else None,
        questions_at=[at for at in c.questions_at if at <= now],
        documents_required=frozenset(DOCUMENTS),
        documents=documents,
        has_phone=c.has_phone,
        has_email=c.has_email,
        bound=c.bound_at is not None and c.bound_at <= now,
        tags=("有其他offer",) if c.tag_at is not None and c.tag_at <= now else (),
        offer_status="delayed" if c.delayed else "accepted",
        recent_scores=list(recent_scores),
    )


@dataclass(frozen=True, slots=True)
class Result:
    n: int
    days: int
    reneged: int
    auc: float
    auc_oracle: float
    auc_fitted: float | None
    auc_fitted_in_sample: float | None
    fitted_weights: dict[str, int] | None
    high_risk_share: float  # of the scored (bound) candidates, as are the next two
    low_risk_share: float
    silent_share: float
    unreached_share: float  # of everyone: never bound, not scored
    reneged_share_unreached: float
    reneged_share_in_high: float
    scored: int
    scoring_seconds: float  # aggregate + compute only
    seconds: float  # the whole run: simulation, scoring, fitting

    def as_json(self, weights: Mapping[str, float], true_weights: Mapping[str, float]) -> str:
        return json.dumps(
            {
                "n": self.n,
                "days": self.days,
                "reneged": self.reneged,
                "auc": round(self.auc, 4),
                "auc_oracle": round(self.auc_oracle, 4),
                "auc_fitted": None if self.auc_fitted is None else round(self.auc_fitted, 4),
                "auc_fitted_in_sample": (
                    None
                    if self.auc_fitted_in_sample is None
                    else round(self.auc_fitted_in_sample, 4)
                ),
                "fitted_weights": self.fitted_weights,
                "weights": percentages(weights),
                "true_weights": percentages(true_weights),
                "high_risk_share": round(self.high_risk_share, 4),
                "low_risk_share": round(self.low_risk_share, 4),
                "silent_share": round(self.silent_share, 4),
                "unreached_share": round(self.unreached_share, 4),
                "reneged_share_unreached": round(self.reneged_share_unreached, 4),
                "reneged_share_in_high": round(self.reneged_share_in_high, 4),
                "scores_computed": self.scored,
                "scores_per_second": (
                    round(self.scored / self.scoring_seconds) if self.scoring_seconds else None
                ),
                "seconds": round(self.seconds, 2),
            },
            ensure_ascii=False,
        )


def percentages(weights: Mapping[str, float]) -> dict[str, int]:
    return calibrate.percentages(weights)


def run(
    n: int = 1000,
    days: int = 60,
    seed: int = 7,
    weights: Mapping[str, float] | None = None,
    true_weights: Mapping[str, float] | None = None,
) -> Result:
    """Simulate, score with the real code, and measure."""
    began = time.perf_counter()
    weights = dict(weights or DEFAULT_WEIGHTS)
    true_weights = dict(true_weights or DEFAULT_WEIGHTS)
    thresholds = Thresholds()
    rng = np.random.default_rng(seed)
    everyone = [simulate(rng, days, true_weights) for _ in range(n)]
    end = START + timedelta(days=days, hours=12)
    # Never bound: "not reached yet", not scored (storage.signals leaves them out).
    unreached = [c for c in everyone if c.bound_at is None or c.bound_at > end]
    cohort = [c for c in everyone if c.bound_at is not None and c.bound_at <= end]
    final_scores: list[int] = []
    bands: list[str] = []
    features: list[list[float]] = []
    scored = 0
    scoring_seconds = 0.0
    silent = 0
    for c in cohort:
        t0 = time.perf_counter()
        history: list[int] = []
        for back in range(HISTORY_DAYS, -1, -1):
            now = START + timedelta(days=days - back, hours=12)
            recent = history[-HISTORY_DAYS:]
            score = compute(aggregate(facts_at(c, now, recent), now), weights, thresholds)
            history.append(score.score)
            scored += 1
        final_scores.append(score.score)
        bands.append(score.band)
        silent += any(r["code"] == "silent" for r in score.reasons)
        features.append([float(score.indicators[name]) for name in INDICATORS])
        scoring_seconds += time.perf_counter() - t0
    y = np.array([1.0 if c.reneged else 0.0 for c in cohort])
    x = np.array(features)
    both = 0 < y.sum() < len(y)
    auc = float(roc_auc_score(y, -np.array(final_scores, dtype=float))) if both else float("nan")
    fitted: calibrate.Calibration | None = calibrate.calibrate(x, y, weights) if both else None
    high = [i for i, band in enumerate(bands) if band == "high"]
    m = len(cohort)
    return Result(
        n=n,
        days=days,
        reneged=int(y.sum()) + sum(c.reneged for c in unreached),
        auc=auc,
        auc_oracle=(
            float(roc_auc_score(y, -np.array([c.stability for c in cohort]))) if both else auc
        ),
        auc_fitted=fitted.auc_cv if fitted else None,
        auc_fitted_in_sample=fitted.auc_fitted if fitted else None,
        fitted_weights=fitted.weights if fitted else None,
        high_risk_share=len(high) / m if m else 0.0,
        low_risk_share=bands.count("low") / m if m else 0.0,
        silent_share=silent / m if m else 0.0,
        unreached_share=len(unreached) / n if n else 0.0,
        reneged_share_unreached=(
            sum(c.reneged for c in unreached) / len(unreached) if unreached else 0.0
        ),
        reneged_share_in_high=(sum(y[i] for i in high) / len(high)) if high else 0.0,
        scored=scored,
        scoring_seconds=scoring_seconds,
        seconds=time.perf_counter() - began,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cohort", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--n", type=int, default=1000, help="candidates (default 1000)")
    parser.add_argument("--days", type=int, default=60, help="days after the offer (default 60)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--weights", help="score weights, e.g. interaction=30,training=25,... (default: defaults)"
    )
    parser.add_argument(
        "--true-weights",
        help="how much each disposition drives reneging in the simulation (default: the defaults)",
    )
    args = parser.parse_args(argv)
    if args.n < 2 or args.days < 1:
        parser.error("--n must be at least 2 and --days at least 1")
    weights = parse_weights(args.weights)
    true_weights = parse_weights(args.true_weights)
    result = run(args.n, args.days, args.seed, weights, true_weights)
    print(result.as_json(weights, true_weights))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
