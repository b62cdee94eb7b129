"""The brand voice an organization sets (``PUT /api/organizations``) reaches the content
creator's prompt, ahead of remembered notes, for that organization only."""

from __future__ import annotations

import pytest
from agent_support import World, use_model
from support import run_context

from agents.content_creator import content_creator
from chorus.runtime import Runtime
from persistence.admin import OrganizationAdmin
from services import organizations

GUIDELINE = "Speak like a neighbour at the counter: warm, short, never smug."


async def test_the_organizations_brand_voice_reaches_the_draft_prompt(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = OrganizationAdmin(runtime.db)
    voiced = await admin.create("Voiced Roasters")
    plain = await admin.create("Plain Roasters")
    await organizations.update(
        runtime.db,
        voiced.id,
        organizations.OrganizationUpdate(brand_voice=[GUIDELINE], banned_terms=["smug"]),
    )
    request = {"brief": "Announce Saturday's tasting flight", "platform": "instagram"}
    world = World(runtime, voiced.id, plain.id)

    model = use_model(monkeypatch, world, ["Saturday brings a tasting flight of three brews."])
    await content_creator.call(request, run_context(voiced.id, runtime))
    system, user = (str(m.content) for m in model.prompts[0])
    assert f"Brand voice:\n- {GUIDELINE}" in user
    assert "smug" in system  # the banned term set in the same change

    model = use_model(monkeypatch, world, ["Saturday brings a tasting flight of three brews."])
    await content_creator.call(request, run_context(plain.id, runtime))
    _, user = (str(m.content) for m in model.prompts[0])
    assert GUIDELINE not in user
