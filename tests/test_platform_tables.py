"""Every network of the data model has its entry in every per-network table, so adding a
network (as Bluesky was) cannot leave a KeyError behind for some agent or tool to hit."""

from __future__ import annotations

import pytest

from agents.content_creator import PLATFORM_CTAS, TARGET_CHARS
from agents.prompts.content_creator import PLATFORM_NAMES as PROMPT_NAMES
from agents.prompts.content_creator import PLATFORM_STYLE
from persistence.models.content import PLATFORMS
from tools.platform_rules import RULES
from tools.priors import PLATFORM_ENGAGEMENT, engagement_prior, week_shape
from tools.schedule_optimizer import PLATFORM_NAMES as SCHEDULE_NAMES

TABLES = {
    "platform rules": RULES,
    "engagement priors": PLATFORM_ENGAGEMENT,
    "schedule names": SCHEDULE_NAMES,
    "prompt names": PROMPT_NAMES,
    "prompt styles": PLATFORM_STYLE,
    "target lengths": TARGET_CHARS,
    "calls to action": PLATFORM_CTAS,
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_platform_has_an_entry(table: str) -> None:
    assert set(PLATFORMS) <= set(TABLES[table]), set(PLATFORMS) - set(TABLES[table])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_platform_has_a_prior_and_a_week(platform: str) -> None:
    assert 0 < engagement_prior(platform) < 1
    shape = week_shape(platform)
    assert shape.shape == (7, 24)
    assert (shape > 0).all()
