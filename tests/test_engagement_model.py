"""The engagement model on the seeded demo data: it beats per-platform means in cross-
validation and finds the planted effects; thin tenants get priors; the cache retrains only
when data changes; no query leaves the tenant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from bson import ObjectId
from support import TEST_MONGODB_URI, isolated_environment, make_settings, run_context, with_runtime

from chorus.runtime import Runtime
from persistence.admin import OrganizationAdmin
from persistence.analytics_versions import bump_analytics_version
from persistence.models import Analytics, Post
from persistence.models.analytics import Metrics, TimeData
from persistence.models.content import PostContent, Scheduling
from persistence.models.organizations import OrganizationSettings
from persistence.repository import TenantRepository
from services.demo import DemoSummary, seed_demo
from services.demo.planted import PROFILES
from tools.engagement_model import (
    DRIVER_FIELDS,
    EngagementModel,
    EngagementModels,
    featurize,
    predict_engagement,
)
from tools.priors import PLATFORM_ENGAGEMENT, time_lift

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NY = "America/New_York"
TZ = ZoneInfo(NY)
on_module_loop = pytest.mark.asyncio(loop_scope="module")
TAGS = ["#lumencoffee", "#coldbrew", "#icedcoffee", "#summercoffee", "#specialtycoffee"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rt(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    # conftest's environment isolation is per test; this runtime outlives one, so it cleans
    # the environment itself while its settings are read.
    with isolated_environment():
        settings = make_settings(tmp_path_factory.mktemp("engagement") / "data")
        runtime = await Runtime.open(settings)
    try:
        yield runtime
    finally:
        if TEST_MONGODB_URI:
            await runtime.db.client.drop_database(settings.mongodb_database)
        await runtime.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(rt: Runtime) -> DemoSummary:
    return await seed_demo(rt, now=NOW)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def trained(rt: Runtime, demo: DemoSummary) -> EngagementModel:
    model = EngagementModel()
    await model.train(rt.db, ObjectId(demo.organization_id), now=NOW)
    return model


def draft(platform: str, content_type: str, local: datetime, **kw: Any) -> Any:
    text = kw.pop("text", "Cold brew season is here: slow-steeped for 18 hours, bright and sweet.")
    return featurize(text, kw.pop("hashtags", TAGS), platform, content_type, local, NY, **kw)


async def fresh_tenant(
    db: Any,
    posts: int,
    *,
    platform: str = "instagram",
    rate: float = 0.05,
    tz: str = "America/Chicago",
) -> ObjectId:
    org = await OrganizationAdmin(db).create(
        "Fresh Tenant", settings=OrganizationSettings(timezone=tz)
    )
    for i in range(posts):
        await add_post(db, org.id, NOW - timedelta(days=3 + i), platform=platform, rate=rate)
    return org.id


async def add_post(
    db: Any,
    org_id: ObjectId,
    at: datetime,
    *,
    platform: str = "instagram",
    rate: float = 0.05,
    bump: bool = True,
    text: str = "A new roast is out",
) -> Analytics:
    """A published post with its analytics; ``bump`` marks the metrics as changed, as the
    importer and the account sync do."""
    post = Post(
        organization_id=org_id,
        content=PostContent(text=text, content_type="image", hashtags=["#roast"]),
        scheduling=Scheduling(status="published", published_at=at, scheduled_at=at),
    )
    reach = 2000
    engaged = round(reach * rate)
    doc = Analytics(
        organization_id=org_id,
        post_id=post.id,
        platform=platform,  # type: ignore[arg-type]
        metrics=Metrics(likes=engaged, reach=reach, engagement_rate=rate),
        time_data=TimeData(
            recorded_at=at,
            date_bucket=at.replace(hour=0, minute=0, second=0, microsecond=0),
            hour_bucket=at.hour,
            day_of_week=at.weekday(),
            month=at.month,
            quarter=(at.month - 1) // 3 + 1,
        ),
    )
    await TenantRepository(db, Post).insert(post)
    await TenantRepository(db, Analytics).insert(doc)
    if bump:
        await bump_analytics_version(db, org_id)
    return doc


# --- features --------------------------------------------------------------------------------


def test_featurize_counts_and_local_time() -> None:
    f = featurize(
        "Which origin should we roast next? 😍☕ https://lumencoffee.example/vote #coffee #Roast",
        ["#coffee", "roast", "#newcrop"],
        "instagram",
        "carousel",
        datetime(2026, 11, 28, 23, 30, tzinfo=UTC),  # 18:30 EST, Saturday
        NY,
    )
    assert (f.weekday, f.hour) == (5, 18.5)
    assert f.hashtag_count == 3  # coffee, roast, newcrop: listed, in the text, or both
    assert f.has_link
    assert f.has_question
    assert f.emoji_count == 2
    assert f.text_length == len("Which origin should we roast next? 😍☕")
    summer = featurize("x", [], "instagram", "image", datetime(2026, 7, 4, 22, 30, tzinfo=UTC), NY)
    assert (summer.weekday, summer.hour) == (5, 18.5)  # 18:30 EDT
    naive = featurize("x", [], "instagram", "image", datetime(2026, 7, 4, 22, 30), NY)
    assert naive == summer  # naive instants are UTC
    assert not featurize("No question here", [], "linkedin", "text", NOW, NY).has_question
    assert featurize("x", [], "facebook", "link", NOW, NY).has_link
    with pytest.raises(ValueError, match="IANA"):
        featurize("x", [], "instagram", "image", NOW, "Nowhere/Else")


# --- the demo -----------------------------------------------------------------------------------


@on_module_loop
async def test_beats_platform_means_in_cross_validation(
    trained: EngagementModel, demo: DemoSummary
) -> None:
    report = trained.report
    assert report is not None
    assert report.n_samples == demo.analytics
    assert report.modeled_platforms == sorted(PROFILES)
    assert report.prior_platforms == []
    assert report.cv_folds == 5
    assert report.cv_samples == demo.analytics
    assert report.cv_mae_model is not None
    assert report.cv_mae_baseline is not None
    assert report.cv_mae_median_baseline is not None
    assert report.cv_mae_model < report.cv_mae_baseline
    assert report.cv_mae_model < report.cv_mae_median_baseline  # the harder baseline too
    assert report.cv_improvement is not None
    assert report.cv_improvement > 0.15
    assert report.cv_interval_coverage is not None
    assert 0.7 <= report.cv_interval_coverage <= 0.9
    assert report.organization_id == demo.organization_id
    assert len(report.fingerprint) == 16


@on_module_loop
async def test_finds_the_planted_effects(trained: EngagementModel) -> None:
    saturday_evening = datetime(2026, 11, 28, 18, 30, tzinfo=TZ)
    tuesday_night = datetime(2026, 11, 24, 3, 0, tzinfo=TZ)
    video = trained.predict(draft("instagram", "video", saturday_evening))
    text = trained.predict(draft("instagram", "text", tuesday_night))
    assert video.source == text.source == "model"
    assert video.rate > 2 * text.rate
    assert video.rate > trained.predict(draft("twitter", "text", tuesday_night)).rate
    for p in (video, text):
        assert 0 < p.low <= p.rate <= p.high < 1
    # media: video beats a single image at the same time
    image = trained.predict(draft("instagram", "image", saturday_evening))
    assert video.rate > image.rate
    # Instagram's planted 18:00-19:59 and weekend lifts
    tuesday_noon = trained.predict(
        draft("instagram", "image", datetime(2026, 11, 24, 12, tzinfo=TZ))
    )
    assert image.rate > 1.5 * tuesday_noon.rate

    # LinkedIn's planted 08:00-09:59 and mid-week strength (the demo has only four weekend
    # LinkedIn posts, so the weekend dip is learned weakly; the hour effect is clear)
    def linkedin(day: int, hour: float) -> float:
        at = datetime(2026, 11, day, int(hour), int(hour % 1 * 60), tzinfo=TZ)
        return trained.predict(draft("linkedin", "image", at)).rate

    assert linkedin(25, 8.5) > 1.4 * linkedin(25, 15)  # Wednesday morning vs afternoon
    assert linkedin(25, 8.5) > 1.4 * linkedin(28, 15)  # vs Saturday afternoon


@on_module_loop
async def test_drivers_and_unseen_hours(trained: EngagementModel) -> None:
    video = trained.predict(draft("instagram", "video", datetime(2026, 11, 28, 18, 30, tzinfo=TZ)))
    assert video.drivers
    assert len(video.drivers) <= 3
    assert all(d.feature in DRIVER_FIELDS for d in video.drivers)
    assert video.lift is not None
    assert video.lift > 1.5
    assert video.platform_median == pytest.approx(trained.norms["instagram"].median_rate, abs=1e-5)
    # 03:00 is an hour the demo never posts at: the model answers for its nearest hour and
    # the prior's week shape scales that down
    night = trained.predict(draft("instagram", "image", datetime(2026, 11, 24, 3, tzinfo=TZ)))
    assert "have not posted at 03:00" in night.basis
    assert night.drivers[0].feature == "hour (typical pattern)"
    assert night.drivers[0].effect < 0
    seven = trained.predict(draft("instagram", "image", datetime(2026, 11, 24, 7, tzinfo=TZ)))
    assert night.rate < seven.rate


@on_module_loop
async def test_predictions_respond_to_the_draft(trained: EngagementModel) -> None:
    """A tree model alone is flat between its cuts, so different drafts often got the same
    figure; the linear part on the draft's own features moves every prediction."""
    at = datetime(2026, 11, 28, 18, 30, tzinfo=TZ)
    text = "Cold brew season is here: slow-steeped for 18 hours, bright and sweet."
    base = draft("instagram", "image", at, text=text)
    assert trained.predict(base) == trained.predict(draft("instagram", "image", at, text=text))
    variants = {
        "longer": draft("instagram", "image", at, text=text + " Small batches, roasted weekly."),
        "shorter": draft("instagram", "image", at, text="Cold brew season is here."),
        "fewer hashtags": draft("instagram", "image", at, text=text, hashtags=TAGS[:2]),
        "question": draft("instagram", "image", at, text=text + " Have you tried it?"),
        "link": draft("instagram", "image", at, text=text + " https://lumen.example/brew"),
        "carousel": draft("instagram", "carousel", at, text=text),
        "video": draft("instagram", "video", at, text=text),
    }
    rate = trained.predict(base).rate
    for name, features in variants.items():
        assert trained.predict(features).rate != rate, name
    # Scored in one batch (as the optimizer does), each answer is the one asked alone: also
    # for an hour never posted at and a platform the priors answer for.
    night = draft("instagram", "image", datetime(2026, 11, 24, 3, tzinfo=TZ), text=text)
    mixed = [*variants.values(), night, draft("youtube", "video", at, text=text), base]
    assert trained.predict_many(mixed) == [trained.predict(f) for f in mixed]
    # Smooth in length: each step longer moves the figure, not only across a tree's cut.
    rates = [
        trained.predict(draft("instagram", "image", at, text="Cold brew. " * n)).rate
        for n in range(2, 8)
    ]
    assert len(set(rates)) == len(rates)


@on_module_loop
async def test_an_effect_the_tenants_posts_show_moves_the_prediction_its_way(
    rt: Runtime, demo: DemoSummary
) -> None:
    org = await fresh_tenant(rt.db, 0)
    for i in range(40):
        emoji = i % 2 == 0
        await add_post(
            rt.db,
            org,
            NOW - timedelta(days=2 + i, hours=i % 5),
            rate=(0.06 if emoji else 0.04) * (1 + 0.05 * (i % 3)),
            text="A new roast is out ☕😍" if emoji else "A new roast is out",
        )
    model = EngagementModel()
    await model.train(rt.db, org)
    assert model.modeled("instagram")
    at = datetime(2026, 11, 25, 12, tzinfo=TZ)
    plain = model.predict(draft("instagram", "image", at, text="Our new roast is out"))
    with_emoji = model.predict(draft("instagram", "image", at, text="Our new roast is out ☕😍"))
    assert with_emoji.rate > plain.rate * 1.1


# --- thin tenants, isolation, the cache ---------------------------------------------------------


class SpyCollection:
    """Records the filter of every read; refuses any method the model should not need."""

    def __init__(self, inner: Any, name: str, log: list[tuple[str, dict]]) -> None:
        self.inner, self.name, self.log = inner, name, log

    def find(self, query: dict, *args: Any, **kwargs: Any) -> Any:
        self.log.append((self.name, query))
        return self.inner.find(query, *args, **kwargs)

    async def find_one(self, query: dict, *args: Any, **kwargs: Any) -> Any:
        self.log.append((self.name, query))
        return await self.inner.find_one(query, *args, **kwargs)

    async def count_documents(self, query: dict, *args: Any, **kwargs: Any) -> int:
        self.log.append((self.name, query))
        return await self.inner.count_documents(query, *args, **kwargs)

    async def aggregate(self, pipeline: list, *args: Any, **kwargs: Any) -> Any:
        self.log.append((self.name, pipeline[0]["$match"]))
        return await self.inner.aggregate(pipeline, *args, **kwargs)


class SpyDb:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.log: list[tuple[str, dict]] = []

    def __getitem__(self, name: str) -> SpyCollection:
        return SpyCollection(self.inner[name], name, self.log)


@on_module_loop
async def test_fresh_tenant_falls_back_to_priors(rt: Runtime, demo: DemoSummary) -> None:
    org = await fresh_tenant(rt.db, 3, rate=0.2)
    model = EngagementModel()
    report = await model.train(rt.db, org)
    assert report.n_samples == 3  # the demo's 372 analytics in the same database are not its
    assert report.modeled_platforms == []
    assert report.prior_platforms == ["instagram"]
    assert report.cv_mae_model is None
    assert model.timezone_for("instagram") == "America/Chicago"  # its own organization's zone

    at = datetime(2026, 11, 25, 12, tzinfo=TZ)
    instagram = model.predict(draft("instagram", "image", at))
    assert instagram.source == "prior"
    assert "blended with your 3 posts" in instagram.basis
    assert instagram.low < instagram.rate < instagram.high
    # its three posts at 20% pull the level up from the typical 3.5%, by their weight only
    nobody = EngagementModel()
    await nobody.train(rt.db, ObjectId())  # no data at all: the bare prior
    bare = nobody.predict(draft("instagram", "image", at))
    assert bare.source == "prior"
    assert bare.rate == pytest.approx(
        PLATFORM_ENGAGEMENT["instagram"] * time_lift("instagram", 2, 12), abs=1e-5
    )
    assert bare.rate < instagram.rate < 0.2
    more = EngagementModel()
    await more.train(rt.db, await fresh_tenant(rt.db, 12, rate=0.2))
    assert instagram.rate < more.predict(draft("instagram", "image", at)).rate < 0.2
    tiktok = model.predict(draft("tiktok", "video", at))
    assert tiktok.source == "prior"
    assert tiktok.platform_median is None
    assert "no posts of yours there yet" in tiktok.basis
    assert model.predict(draft("tiktok", "image", at)).rate < tiktok.rate  # video lift


@on_module_loop
async def test_never_reads_another_tenant(rt: Runtime, demo: DemoSummary) -> None:
    org = await fresh_tenant(rt.db, 3)
    spy = SpyDb(rt.db)
    report = await EngagementModel().train(spy, org)
    assert report.n_samples == 3
    assert {name for name, _ in spy.log} >= {"posts", "analytics", "social_accounts"}
    for _, query in spy.log:
        assert query["organizationId"] == org
    spy.log.clear()
    await EngagementModels().get(spy, org)
    assert spy.log
    assert all(query["organizationId"] == org for _, query in spy.log)


@on_module_loop
async def test_cache_retrains_only_when_data_changes(rt: Runtime, demo: DemoSummary) -> None:
    db = rt.db
    org, other = await fresh_tenant(db, 3), await fresh_tenant(db, 2)
    cache = EngagementModels()
    first = await cache.get(db, org)
    assert await cache.get(db, org) is first
    assert cache.trainings == 1

    await add_post(db, other, NOW - timedelta(hours=5))  # another tenant's data changed
    assert await cache.get(db, org) is first
    assert cache.trainings == 1

    doc = await add_post(db, org, NOW - timedelta(hours=2))  # this tenant's changed
    second = await cache.get(db, org)
    assert second is not first
    assert second.report is not None
    assert second.report.n_samples == 4
    assert cache.trainings == 2

    await TenantRepository(db, Analytics).update(org, doc.id, {"metrics.likes": 500})
    await bump_analytics_version(db, org)
    results = await asyncio.gather(*(cache.get(db, org) for _ in range(4)))
    assert cache.trainings == 3  # an update counts; concurrent callers share one training
    assert all(r is results[0] for r in results)
    assert await cache.get(db, org) is results[0]
    assert cache.trainings == 3

    await bump_analytics_version(db, org)  # a bump with nothing the model reads changed
    assert await cache.get(db, org) is results[0]
    assert cache.trainings == 3


@on_module_loop
async def test_cache_reads_only_the_version_until_it_checks_the_data_again(
    rt: Runtime, demo: DemoSummary
) -> None:
    db = rt.db
    org = await fresh_tenant(db, 3)
    ticks = [0.0]
    cache = EngagementModels(verify_seconds=60, clock=lambda: ticks[0])
    first = await cache.get(db, org)
    spy = SpyDb(db)
    assert await cache.get(spy, org) is first
    assert [name for name, _ in spy.log] == ["analytics_versions"]  # one indexed read

    # A write that skips the version bump is not seen at once, but at the next check.
    await add_post(db, org, NOW - timedelta(hours=1), bump=False)
    ticks[0] = 59.0
    assert await cache.get(db, org) is first
    ticks[0] = 61.0
    second = await cache.get(db, org)
    assert second is not first
    assert second.report is not None
    assert second.report.n_samples == 4
    assert cache.trainings == 2


# --- the tool -----------------------------------------------------------------------------------


@on_module_loop
async def test_tool(rt: Runtime, demo: DemoSummary, trained: EngagementModel) -> None:
    org = ObjectId(demo.organization_id)
    cache = EngagementModels()
    cache.put(org, trained)  # warm: the data has not changed since, so no retraining
    services = SimpleNamespace(db=rt.db, memory=None, engagement_models=cache)
    config = run_context(org, services)
    assert "config" not in predict_engagement.args
    args = {
        "text": "Cold brew season is here: slow-steeped for 18 hours, bright and sweet.",
        "platform": "instagram",
        "hashtags": TAGS,
        "content_type": "video",
        "at": "2026-11-28T18:30:00",  # no offset: the account's local time
    }
    out = await predict_engagement.ainvoke(with_runtime(args, config))
    assert cache.trainings == 0
    assert out["source"] == "model"
    assert out["timezone"] == NY
    assert (out["features"]["weekday"], out["features"]["hour"]) == (5, 18.5)
    assert out["trainedOn"] == demo.analytics
    assert out["cvMae"] < out["cvMaeBaseline"]
    assert {"rate", "low", "high", "platformMedian", "lift", "drivers", "basis"} <= set(out)
    assert (
        out["rate"]
        == trained.predict(
            draft("instagram", "video", datetime(2026, 11, 28, 18, 30, tzinfo=TZ))
        ).rate
    )

    utc = await predict_engagement.ainvoke(
        with_runtime({**args, "at": "2026-11-28T23:30:00Z"}, config)
    )
    assert utc["rate"] == out["rate"]  # the same instant, given in UTC

    bad = await predict_engagement.ainvoke(with_runtime({**args, "platform": "myspace"}, config))
    assert isinstance(bad, str)
    assert "platform" in bad
    assert "invalid arguments" in bad
    # Without the run's context there is no tenant: the call is refused, never guessed.
    refused = await predict_engagement.ainvoke(args)
    assert isinstance(refused, str)
    assert "runtime: Field required" in refused


def test_ml_tools_export() -> None:
    from tools.ml import ML_TOOLS

    assert [t.name for t in ML_TOOLS] == ["analyze_sentiment", "predict_engagement"]
    for t in ML_TOOLS:
        schema = t.tool_call_schema.model_json_schema()  # what a chat model is shown
        assert "config" not in schema["properties"]
        assert t.description
    props = predict_engagement.tool_call_schema.model_json_schema()["properties"]
    assert set(props) == {"text", "platform", "hashtags", "content_type", "at"}
