"""HR's side of documents: review notices, approve / reject with a reason, /review."""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import Context
from bot.core.messages import AttachmentKind, Button, OutgoingFile
from bot.core.paging import Page, offset_of, page_number
from bot.core.router import Router
from bot.core.text import number, safe_filename
from bot.core.uploads import ACCEPTED, FileStore
from bot.handlers.hr import record_audit
from bot.people.scope import hr_scope, may_see
from content import ChecklistItem
from flows.engine import END, Accept, Answer, Ask, Flow, Go, Option, Stay, Step, Turn
from storage import documents, people
from storage.models import Candidate, Document, DocumentStatus, Role

router = Router()
REVIEWERS = {Role.HR, Role.ADMIN}
PAGE = 10
REJECT_PRESETS = ("blurry", "incomplete", "wrong_file", "expired")


def item_title(ctx: Context, candidate: Candidate, item_id: str, lang: str | None) -> str:
    items: list[ChecklistItem] = ctx.services.content.checklists.items_for(
        candidate.department, candidate.position
    )
    for item in items:
        if item.id == item_id:
            return item.title.get(lang)
    return item_id


def _file(ctx: Context, document: Document) -> OutgoingFile:
    extension = ACCEPTED.get(document.mime_type, "bin")
    path = FileStore(ctx.settings.data_dir / "files").path(document.sha256, extension)
    kind = AttachmentKind.PHOTO if document.mime_type.startswith("image/") else AttachmentKind.FILE
    name = safe_filename(document.file_name, extension, fallback=document.item)
    return OutgoingFile(kind, name, path=str(path))


def _buttons(document: Document, approve: str, reject: str) -> tuple[Button, ...]:
    """Approve / reject, bound to this exact file (a resubmission voids old buttons)."""
    tag = f"{document.id}:{document.sha256[:8]}"
    return (Button(approve, f"dr:{tag}:a"), Button(reject, f"dr:{tag}:r"))


async def notify_reviewer(ctx: Context, candidate: Candidate, document: Document) -> None:
    """Send the file to the candidate's HR with approve / reject buttons."""
    if candidate.hr_id is None:
        return
    hr = await people.get_staff(session=ctx.session, staff_id=candidate.hr_id)
    if hr is None:
        return
    text = ctx.staff_t(
        hr,
        "review.notice",
        name=candidate.name,
        department=candidate.department or "-",
        title=item_title(ctx, candidate, document.item, hr.language),
    )
    buttons = _buttons(
        document, ctx.staff_t(hr, "review.approve"), ctx.staff_t(hr, "review.reject")
    )
    ctx.notify_staff_text(hr, text, buttons, (_file(ctx, document),))


async def _document_in_scope(ctx: Context, document_id: str) -> tuple[Document, Candidate] | None:
    wanted = number(document_id)
    if wanted is None:
        return None
    document = await documents.get_document(session=ctx.session, document_id=wanted)
    if document is None:
        return None
    candidate = await people.get_candidate(session=ctx.session, candidate_id=document.candidate_id)
    if candidate is None or not may_see(ctx, candidate):
        return None
    return document, candidate


@router.payload("dr", roles=REVIEWERS)
async def review_tap(ctx: Context, args: list[str]) -> None:
    found = await _document_in_scope(ctx, args[0]) if len(args) == 3 else None
    if found is None:
        ctx.reply(ctx.t("review.not_found"))
        return
    document, candidate = found
    if document.sha256[:8] != args[1] or document.status != DocumentStatus.SUBMITTED.value:
        ctx.reply(ctx.t("review.already", status=ctx.t(f"docs.state.{document.status}")))
        return
    title = item_title(ctx, candidate, document.item, ctx.actor.language)
    if args[2] == "a":
        await _decide(ctx, document, candidate, approved=True, reason=None)
        ctx.reply(ctx.t("review.approved", name=candidate.name, title=title))
    else:
        await ctx.services.flows.start(
            ctx, "doc_reject", {"document": document.id, "sha": document.sha256[:8]}
        )


async def _decide(
    ctx: Context, document: Document, candidate: Candidate, *, approved: bool, reason: str | None
) -> None:
    reviewer = ctx.actor.staff.id if ctx.actor.staff is not None else None
    await documents.review_document(
        session=ctx.session,
        document=document,
        approved=approved,
        reviewer_id=reviewer,
        reason=reason,
        now=ctx.now,
    )
    title = item_title(ctx, candidate, document.item, candidate.language)
    if approved:
        ctx.notify_candidate(candidate, "review.candidate_approved", title=title)
    else:
        ctx.notify_candidate(candidate, "review.candidate_rejected", title=title, reason=reason)


async def ask_reason(turn: Turn) -> Ask:
    return Ask(
        turn.t("review.reason_ask"),
        tuple(Option(p, turn.t(f"review.preset.{p}")) for p in REJECT_PRESETS),
    )


async def handle_reason(turn: Turn, answer: Answer) -> Go | Stay:
    ctx = turn.ctx
    found = await _document_in_scope(ctx, str(turn.data.get("document")))
    if (
        found is None
        or found[0].sha256[:8] != turn.data.get("sha")
        or (found[0].status != DocumentStatus.SUBMITTED.value)
    ):
        return Go(END, (turn.t("review.not_found"),))
    document, candidate = found
    if answer.kind is Accept.CHOICE and answer.choice in REJECT_PRESETS:
        reason = ctx.services.i18n.t(candidate.language, f"review.preset.{answer.choice}")
    else:
        reason = answer.text.strip()[:500]
    if not reason:
        return Stay(turn.t("review.reason_ask"))
    await _decide(ctx, document, candidate, approved=False, reason=reason)
    title = item_title(ctx, candidate, document.item, ctx.actor.language)
    return Go(END, (turn.t("review.rejected", name=candidate.name, title=title),))


REJECT_FLOW = Flow(
    name="doc_reject",
    title_key="review.flow_title",
    start="reason",
    timeout=timedelta(hours=12),
    steps={
        "reason": Step(ask_reason, handle_reason, frozenset({Accept.CHOICE, Accept.TEXT}), (END,)),
    },
)


@router.command("review", roles=REVIEWERS, aliases=("审核",), help_key="help.review")
async def review_command(ctx: Context, args: str) -> None:
    page = page_number(args)
    await _list_page(ctx, page)


@router.payload("rv", roles=REVIEWERS)
async def review_page(ctx: Context, args: list[str]) -> None:
    await _list_page(ctx, page_number(args[0] if args else None))


async def _list_page(ctx: Context, page: int) -> None:
    rows, total = await documents.awaiting_review(
        session=ctx.session, hr_id=hr_scope(ctx), limit=PAGE, offset=offset_of(page, PAGE)
    )
    if total == 0:
        ctx.reply(ctx.t("review.empty"))
        return
    pages = Page.of(page, size=PAGE, total=total).pages
    lines = [ctx.t("review.list_title", total=total, page=min(page, pages), pages=pages)]
    buttons = []
    for n, (document, candidate) in enumerate(rows, start=offset_of(page, PAGE) + 1):
        waited = (ctx.now - document.submitted_at).total_seconds() // 3600
        lines.append(
            ctx.t(
                "review.list_line",
                n=n,
                name=candidate.name,
                title=item_title(ctx, candidate, document.item, ctx.actor.language),
                when=document.submitted_at.astimezone(ctx.tz).strftime("%m-%d %H:%M"),
                hours=int(waited),
            )
        )
        buttons.append(Button(ctx.t("review.view", n=n), f"dv:{document.id}"))
    if page < pages:
        buttons.append(Button(ctx.t("common.next_page"), f"rv:{page + 1}"))
    ctx.reply("\n".join(lines), buttons=buttons)


@router.payload("dv", roles=REVIEWERS)
async def review_view(ctx: Context, args: list[str]) -> None:
    found = await _document_in_scope(ctx, args[0]) if args else None
    if found is None:
        ctx.reply(ctx.t("review.not_found"))
        return
    document, candidate = found
    await record_audit(ctx, "document", candidate_id=candidate.id, detail=document.item)
    status = ctx.t(f"docs.state.{document.status}")
    ctx.reply(
        ctx.t(
            "review.detail",
            name=candidate.name,
            status=status,
            title=item_title(ctx, candidate, document.item, ctx.actor.language),
        ),
        buttons=_buttons(document, ctx.t("review.approve"), ctx.t("review.reject"))
        if document.status == DocumentStatus.SUBMITTED.value
        else (),
        files=(_file(ctx, document),),
    )
