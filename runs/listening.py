"""Listening's second half: each new batch of mentions goes to the crisis manager, and a high
or critical assessment starts the ``crisis_response`` workflow.

The workflow starts as a background run on a thread of its own, as ``POST /lg/threads/{id}/
runs`` starts one (``runs.sdk.SdkRuns.start_in_background``): its approval interrupt waits
for a person on that thread, and approving it pauses every scheduled post, as it does today.
The assessment is the crisis manager's own (numbers from its tools, one agent run, accounted
like any other); the thread id is recorded on the account with the level.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from bson import ObjectId

from agents.schemas import CrisisReport
from persistence.errors import ChorusError
from persistence.models import NetworkActivity
from persistence.organizations import load_organization
from runs.engine import RunEngine
from runs.sdk import RunRequest, SdkRuns
from services.events import CRISIS_DETECTED
from services.social_accounts import listening
from services.social_accounts.ports import AccountsRuntime

log = logging.getLogger(__name__)

#: The crisis levels that start the response workflow.
RESPOND_AT = frozenset({"high", "critical"})
#: The crisis manager's input bounds (agents.schemas.CrisisRequest).
MAX_MENTIONS, MAX_TEXT = 5000, 5000
LISTENER = "system:listening"


@dataclass(frozen=True, slots=True)
class Heard:
    account_id: ObjectId
    new_mentions: int
    risk_level: str | None = None
    crisis_thread_id: str | None = None


async def listen_account(engine: RunEngine, org_id: ObjectId, account_id: ObjectId) -> Heard:
    """Pull the account's new mentions; assess them; respond to a high or critical risk."""
    services = cast(AccountsRuntime, engine.services)
    new = await listening.pull_mentions(services, org_id, account_id)
    if not new:
        return Heard(account_id, 0)
    request = await _crisis_request(engine, org_id, new)
    if request is None:  # nothing with text to assess (reactions, empty comments)
        return Heard(account_id, len(new))
    ctx = engine.context(org_id, graph="crisis_manager", user_id=LISTENER)
    report = CrisisReport.model_validate(await engine.run_agent(ctx, request))
    level = report.assessment.risk_level
    await listening.record_risk(services, org_id, account_id, level)
    thread_id = None
    if level in RESPOND_AT:
        thread_id = str(uuid.uuid4())
        await SdkRuns(engine).start_in_background(
            org_id,
            LISTENER,
            thread_id,
            RunRequest(
                graph="crisis_response",
                input={"input": request},
                metadata={"source": "listening", "socialAccountId": str(account_id)},
                if_not_exists="create",
            ),
        )
        log.warning(
            "listening: %s risk on account %s; crisis_response started on thread %s",
            level,
            account_id,
            thread_id,
        )
        # Everyone in the organization is told (urgent: even in quiet hours).
        await services.events.emit(
            org_id,
            CRISIS_DETECTED,
            {
                "severity": level,
                "summary": report.response_plan.summary,
                "drivers": report.assessment.drivers[:5],
                "socialAccountId": str(account_id),
                "threadId": thread_id,
                "mentions": len(new),
            },
            resource=("thread", thread_id),
            actor=("system", None),
        )
    return Heard(account_id, len(new), level, thread_id)


async def listen_due(engine: RunEngine, *, now: datetime | None = None) -> dict[str, int]:
    """The scheduled pass: every connected account due for listening, once across workers."""
    services = cast(AccountsRuntime, engine.services)
    heard = failed = crises = 0
    for org_id, account_id in await listening.due_accounts(services, now=now):
        try:
            result = await listen_account(engine, org_id, account_id)
        except ChorusError as exc:  # a network refusal, a plan limit: the others go on
            log.info("listening to account %s failed: %s", account_id, exc)
            failed += 1
            continue
        heard += result.new_mentions
        crises += result.crisis_thread_id is not None
    return {"mentions": heard, "failed": failed, "crises": crises}


async def _crisis_request(
    engine: RunEngine, org_id: ObjectId, batch: list[NetworkActivity]
) -> dict[str, Any] | None:
    mentions = [
        {
            "text": item.text[:MAX_TEXT],
            "platform": item.platform,
            "author": (item.author or "")[:200] or None,
            "createdAt": item.occurred_at.isoformat() if item.occurred_at else None,
        }
        for item in batch[-MAX_MENTIONS:]
        if item.text and item.text.strip()
    ]
    if not mentions:
        return None
    org = await load_organization(engine.services.db, org_id)
    brand = (org.name if org else "") or "our brand"
    return {"brand": brand[:200], "mentions": mentions}
