"""Dialogs: flow definitions, the engine that runs them, and their commands."""

from __future__ import annotations

from bot.core.dispatcher import TextHandler
from bot.core.router import Router
from flows import (
    broadcast,
    commands,
    documents,
    forget,
    hr_import,
    questions,
    quiz,
    review,
    survey,
    tickets,
    welcome,
)
from flows.documents import DOCS_FLOW
from flows.engine import FlowEngine, FlowError
from flows.offer import OFFER_FLOW
from flows.questions import handle_free_text
from flows.quiz import QUIZ_FLOW
from flows.review import REJECT_FLOW
from flows.survey import SURVEY_FLOW
from flows.tickets import REPLY_FLOW

ALL_FLOWS = (
    OFFER_FLOW,
    DOCS_FLOW,
    REJECT_FLOW,
    QUIZ_FLOW,
    SURVEY_FLOW,
    REPLY_FLOW,
    *commands.FLOWS,
    *welcome.FLOWS,
    *broadcast.FLOWS,
    *forget.FLOWS,
    *hr_import.FLOWS,
)
TEXT_HANDLERS: tuple[TextHandler, ...] = (handle_free_text,)

router = Router()
router.include(commands.router)
router.include(documents.router)
router.include(review.router)
router.include(quiz.router)
router.include(survey.router)
router.include(questions.router)
router.include(tickets.router)
router.include(welcome.router)
router.include(broadcast.router)
router.include(forget.router)
router.include(hr_import.router)

__all__ = ["ALL_FLOWS", "TEXT_HANDLERS", "FlowEngine", "FlowError", "router"]
