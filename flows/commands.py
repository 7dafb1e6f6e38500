"""Commands that open or leave dialogs."""

from __future__ import annotations

from bot.context import Context
from bot.progress import offer_awaiting_reply
from bot.roles import BOUND
from bot.router import Router
from storage.models import Role

router = Router()


@router.command("cancel", roles=BOUND, aliases=("取消",), help_key="help.cancel")
async def cancel_command(ctx: Context, args: str) -> None:
    from flows.engine import FlowEngine

    engine = ctx.services.flows
    assert isinstance(engine, FlowEngine)
    left = await engine.cancel(ctx)
    if left is None:
        ctx.reply(ctx.t("flow.nothing_to_cancel"))
    else:
        ctx.reply(ctx.t("flow.cancelled", title=ctx.t(engine.flows[left].title_key)))


@router.command("offer", roles={Role.CANDIDATE}, aliases=("确认offer",), help_key="help.offer")
async def offer_command(ctx: Context, args: str) -> None:
    candidate = ctx.actor.candidate
    assert candidate is not None
    if not offer_awaiting_reply(candidate.offer_status):
        ctx.reply(ctx.t(f"offer.state.{candidate.offer_status}"))
        return
    await ctx.services.flows.start(ctx, "offer")
