"""HR reports over many candidates: /risk, /stats and /export."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from bot.core.context import Context
from bot.core.messages import AttachmentKind, Button, OutgoingFile
from bot.core.paging import Page, page_number
from bot.core.privacy import mask_phone
from bot.core.router import Router
from bot.core.text import number
from bot.handlers import hr
from bot.handlers.hr import (
    band_text,
    main_reason,
    missing_items,
    record_audit,
    suggested_action,
    unscored_text,
)
from bot.people.progress import compute_progress, still_waiting
from bot.people.scope import STAFF_VIEW, hr_scope
from bot.reports.charts import StatsChart, render_stats
from bot.reports.export import COLUMNS, Cell, write_workbook
from bot.reports.stats import RATE_DAYS, funnel, interaction_rates, reneging_reasons
from bot.scoring.standing import UNREACHED, unscored
from storage import outcomes, people, reports, scores
from storage.models import Candidate, Outcome, ScoreSnapshot

router = Router()
RISK_PAGE = 10
BANDS = {
    "high": "high",
    "h": "high",
    "高": "high",
    "高风险": "high",
    "medium": "medium",
    "mid": "medium",
    "m": "medium",
    "中": "medium",
    "中风险": "medium",
    "low": "low",
    "l": "low",
    "低": "low",
    "低风险": "low",
}


def _who(ctx: Context) -> str:
    """A file-name-safe tag for the staff member (admins without a staff record: 'admin')."""
    return f"s{ctx.actor.staff.id}" if ctx.actor.staff is not None else "admin"


def _stamp(ctx: Context) -> str:
    return ctx.now.astimezone(ctx.tz).strftime("%Y%m%d-%H%M%S")


def _pct(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


async def _open_candidates(ctx: Context) -> list[Candidate]:
    """In-scope candidates still in play: no outcome recorded, the offer not declined and
    their first day not past (bot.people.progress.still_waiting)."""
    scope = hr_scope(ctx)
    everyone = await people.list_candidates(session=ctx.session, hr_id=scope)
    ids = None if scope is None else [c.id for c in everyone if c.id is not None]
    done = await outcomes.candidates_with_outcome(session=ctx.session, candidate_ids=ids)
    return [c for c in everyone if c.id not in done and still_waiting(c, ctx.today)]


# ---- /risk -------------------------------------------------------------------------------


def parse_risk_args(args: str) -> tuple[str, int] | None:
    band, page = "high", 1
    for word in args.split():
        if (value := number(word)) is not None and value > 0:
            page = value
        elif word.lower() in BANDS:
            band = BANDS[word.lower()]
        else:
            return None
    return band, page


@router.command("risk", roles=STAFF_VIEW, aliases=("风险",), help_key="risk.help")
async def risk_command(ctx: Context, args: str) -> None:
    parsed = parse_risk_args(args)
    if parsed is None:
        ctx.reply(ctx.t("risk.usage"))
        return
    await risk_page(ctx, *parsed)


@router.payload("rk", roles=STAFF_VIEW)
async def risk_next(ctx: Context, args: list[str]) -> None:
    if len(args) != 2 or args[0] not in ("high", "medium", "low") or number(args[1]) is None:
        ctx.reply(ctx.t("common.button_expired"))
        return
    await risk_page(ctx, args[0], page_number(args[1]))


async def risk_page(ctx: Context, band: str, page: int) -> None:
    candidates = {c.id: c for c in await _open_candidates(ctx) if c.id is not None}
    scope_ids = None if hr_scope(ctx) is None else list(candidates)
    latest = await scores.latest(session=ctx.session, candidate_ids=scope_ids)
    why_not = {cid: unscored(c, today=ctx.today) for cid, c in candidates.items()}
    reached = {cid: c for cid, c in candidates.items() if why_not[cid] is None}
    rows = sorted(
        ((s, reached[cid]) for cid, s in latest.items() if s.band == band and cid in reached),
        key=lambda pair: (pair[0].score, pair[1].name, pair[1].id or 0),
    )
    unreached = sorted(c.name for cid, c in candidates.items() if why_not[cid] == UNREACHED)
    footer = (
        ctx.t("risk.unreached", count=len(unreached), names="、".join(unreached[:RISK_PAGE]))
        if unreached and page == 1 and band == "high"
        else None
    )
    label = band_text(ctx, band)
    await record_audit(ctx, "risk_list", detail=f"{band} {page} {len(rows)}")
    if not rows:
        ctx.reply("\n\n".join(filter(None, (ctx.t("risk.empty", band=label), footer))))
        return
    shown = Page.of(page, size=RISK_PAGE, total=len(rows))
    page, pages = shown.number, shown.pages
    lines = [ctx.t("risk.title", band=label, total=len(rows), page=page, pages=pages)]
    buttons = []
    for n, (snapshot, candidate) in enumerate(shown.rows(rows), start=shown.first):
        lines.append(
            ctx.t(
                "risk.line",
                n=n,
                name=candidate.name,
                department=candidate.department or "-",
                phone=mask_phone(candidate.phone),
                score=snapshot.score,
                reason=main_reason(ctx, snapshot),
                action=suggested_action(ctx, snapshot, candidate.name),
            )
        )
        buttons.append(Button(f"{n}. {candidate.name}", f"st:{candidate.id}"))
    if page < pages:
        buttons.append(Button(ctx.t("common.next_page"), f"rk:{band}:{page + 1}"))
    if footer:
        lines += ["", footer]
    ctx.reply("\n".join(lines), buttons=buttons)


# ---- /stats ------------------------------------------------------------------------------


@router.command("stats", roles=STAFF_VIEW, aliases=("统计",), help_key="stats.help")
async def stats_command(ctx: Context, args: str) -> None:
    scope = hr_scope(ctx)
    candidates = list(await people.list_candidates(session=ctx.session, hr_id=scope))
    if not candidates:
        ctx.reply(ctx.t("stats.empty"))
        return
    ids = None if scope is None else [c.id for c in candidates if c.id is not None]
    results = await outcomes.list_outcomes(session=ctx.session, candidate_ids=ids)
    stages = await funnel(ctx, candidates, results)
    days, rates = await interaction_rates(ctx, candidates, ids)
    reasons = reneging_reasons(ctx, candidates, results)
    chart = StatsChart(
        title=ctx.t("stats.chart_title", date=ctx.today.isoformat()),
        funnel_title=ctx.t("stats.funnel_title"),
        funnel=[
            (ctx.t("stats.stage_offers"), stages.offers),
            (ctx.t("stats.stage_accepted"), stages.accepted),
            (ctx.t("stats.stage_documents"), stages.documents),
            (ctx.t("stats.stage_trained"), stages.trained),
            (ctx.t("stats.stage_joined"), stages.joined),
        ],
        rate_title=ctx.t("stats.rate_title", days=RATE_DAYS),
        rate_axis=ctx.t("stats.rate_axis"),
        days=days,
        rates=rates,
        reasons_title=ctx.t("stats.reasons_title"),
        reasons=reasons,
        no_data=ctx.t("stats.no_reasons"),
    )
    path = ctx.settings.data_dir / "reports" / f"stats-{_who(ctx)}-{_stamp(ctx)}.png"
    await asyncio.to_thread(render_stats, chart, path)
    lost = sum(n for _, n in reasons)
    summary = [
        ctx.t(
            "stats.summary_scope" if scope is not None else "stats.summary_scope_all",
            count=len(candidates),
        ),
        ctx.t(
            "stats.summary_funnel",
            offers=stages.offers,
            accepted=stages.accepted,
            accepted_pct=_pct(stages.accepted, stages.offers),
            documents=stages.documents,
            documents_pct=_pct(stages.documents, stages.offers),
            trained=stages.trained,
            trained_pct=_pct(stages.trained, stages.offers),
            joined=stages.joined,
            joined_pct=_pct(stages.joined, stages.offers),
        ),
        ctx.t(
            "stats.summary_rate",
            days=RATE_DAYS,
            average=round(100 * sum(rates) / len(rates)),
            today=round(100 * rates[-1]),
        ),
    ]
    if lost:
        top = ctx.t("score.joiner").join(f"{label} {n}" for label, n in reasons[:3])
        summary.append(ctx.t("stats.summary_lost", count=lost, reasons=top))
    await record_audit(ctx, "stats", detail=str(len(candidates)))
    ctx.reply(
        "\n".join(summary),
        files=[OutgoingFile(AttachmentKind.PHOTO, path.name, path=str(path))],
    )


# ---- /export -----------------------------------------------------------------------------


async def export_row(
    ctx: Context,
    candidate: Candidate,
    *,
    snapshot: ScoreSnapshot | None,
    last_seen: datetime | None,
    outcome: Outcome | None,
    hr_names: dict[int, str],
) -> list[Cell]:
    """One spreadsheet row, in COLUMNS order (full contact details: HR and admins only)."""
    lang = ctx.actor.language
    progress = await compute_progress(
        session=ctx.session, candidate=candidate, content=ctx.services.content, today=ctx.today
    )
    missing = await missing_items(ctx, candidate, lang)
    if last_seen is None and candidate.id is not None:
        last_seen = hr.last_seen(
            await people.identities_of(session=ctx.session, candidate_id=candidate.id)
        )
    titles = {c.id: c.title.get(lang) for c in ctx.services.content.courses}
    missing_courses = set(missing.courses)
    why_not = unscored(
        candidate, today=ctx.today, outcome=outcome.outcome if outcome is not None else None
    )
    passed = [title for title in titles.values() if title not in missing_courses]
    values: dict[str, Cell] = {
        "id": candidate.id,
        "name": candidate.name,
        "phone": candidate.phone,
        "email": candidate.email,
        "school": candidate.school,
        "major": candidate.major,
        "degree": candidate.degree,
        "department": candidate.department,
        "position": candidate.position,
        "hr": hr_names.get(candidate.hr_id) if candidate.hr_id is not None else None,
        "offer_status": ctx.t(f"offer_status.{candidate.offer_status}"),
        "progress": progress.percent,
        "missing_documents": "、".join(missing.documents),
        "courses_passed": "、".join(passed),
        # Only a candidate still on the way and reachable has a risk; the others say why.
        "score": snapshot.score if snapshot and why_not is None else None,
        "band": (
            band_text(ctx, snapshot.band)
            if snapshot and why_not is None
            else unscored_text(ctx, why_not, outcome)
            if why_not is not None
            else None
        ),
        "main_reason": main_reason(ctx, snapshot) if snapshot and why_not is None else None,
        "last_interaction": (
            last_seen.astimezone(ctx.tz).replace(tzinfo=None) if last_seen else None
        ),
        "offer_date": candidate.offer_date,
        "training_date": candidate.training_date,
        "onboarding_date": candidate.onboarding_date,
        "outcome": (
            ctx.t(f"export.outcome_{outcome.outcome}", reason=outcome.reason or "-")
            if outcome
            else None
        ),
    }
    return [values[key] for key in COLUMNS]


@router.command("export", roles=STAFF_VIEW, aliases=("导出",), help_key="export.help")
async def export_command(ctx: Context, args: str) -> None:
    scope = hr_scope(ctx)
    candidates = list(await people.list_candidates(session=ctx.session, hr_id=scope))
    if not candidates:
        ctx.reply(ctx.t("export.empty"))
        return
    ids = [c.id for c in candidates if c.id is not None]
    scope_ids = None if scope is None else ids
    latest = await scores.latest(session=ctx.session, candidate_ids=scope_ids)
    seen = await reports.last_interactions(session=ctx.session, candidate_ids=scope_ids)
    results = {
        o.candidate_id: o
        for o in await outcomes.list_outcomes(session=ctx.session, candidate_ids=scope_ids)
    }
    hr_names = {s.id: s.name for s in await people.list_staff(session=ctx.session) if s.id}
    rows = [
        await export_row(
            ctx,
            c,
            snapshot=latest.get(c.id or 0),
            last_seen=seen.get(c.id or 0),
            outcome=results.get(c.id),
            hr_names=hr_names,
        )
        for c in candidates
    ]
    path: Path = ctx.settings.data_dir / "exports" / f"candidates-{_stamp(ctx)}-{_who(ctx)}.xlsx"
    await asyncio.to_thread(
        write_workbook,
        path,
        title=ctx.t("export.sheet_title"),
        headers=[ctx.t(f"export.col.{key}") for key in COLUMNS],
        rows=rows,
    )
    await record_audit(ctx, "export", detail=str(len(rows)))
    ctx.reply(
        ctx.t("export.done", count=len(rows)),
        files=[OutgoingFile(AttachmentKind.FILE, path.name, path=str(path))],
    )
