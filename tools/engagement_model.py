"""A per-tenant model of the engagement rate a draft post can expect.

Training data is the tenant's own published posts joined with their analytics, one sample per
(post, platform): engagement rate = (likes + comments + shares + saves) / reach. Features are
the platform, the content type, the local weekday and hour of publishing (in the account's
timezone), text length (without hashtags and URLs), hashtag count, link, question and emoji
count.

The model works on the log-odds of the rate, measured from the platform's median log-odds:
rates are skewed fractions whose effects multiply, and where the model knows nothing the answer
stays at the platform's typical rate. It has two parts, both with Huber loss (robust to the odd
viral post): a regularised linear part on what the writer controls (length, hashtags, link,
question, emoji, media type), so that any change to a draft moves its prediction by the effect
the tenant's posts show for it, and a small gradient-boosted tree ensemble fitted to what the
linear part leaves (timing, interactions). Trees alone are flat between their cuts: two
different drafts often fell into the same leaves and got the identical figure. For an hour the
tenant has never posted at on a platform, the model answers for the nearest hour it knows and
the prior's hour shape scales that (trees cannot extrapolate). The 80% band is the 10th-90th
percentile of the out-of-fold residuals, per platform when there are enough; its coverage is
checked on held-out folds.

Where a platform has fewer than ``MIN_POSTS`` posts, its predictions come from the platform
priors (``tools.priors``) instead: the typical rate for the content type and hour, with the
level blended toward the tenant's own median on that platform (the median, not the mean: with
fewer than 30 posts one viral post would move a mean several-fold).

The training report gives the cross-validated mean absolute error of the model next to that of
the per-platform mean (and, a harder baseline, the per-platform median), so nobody has to take
the model on trust.

``EngagementModels`` caches one trained model per tenant and retrains only when the tenant's
data changes: its analytics version (bumped by every metrics write) is checked on every call,
and a fingerprint of the data (document counts and latest timestamps) when the version moved or
every few minutes. Training is CPU-bound and runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from bson import ObjectId
from langchain_core.tools import ToolException, tool
from langgraph.prebuilt import ToolRuntime
from pydantic import Field
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import HuberRegressor
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from persistence.analytics_versions import analytics_version
from persistence.ids import utcnow
from persistence.models import Analytics, Post, SocialAccount
from persistence.models.content import PLATFORMS, ContentType, Platform
from persistence.organizations import load_settings
from persistence.repository import TenantRepository
from tools.context import RunContext
from tools.ml_common import CamelModel, as_utc, expit, logit, validation_message, zone
from tools.priors import PLATFORM_ENGAGEMENT, content_lift, shrink, time_lift

log = logging.getLogger(__name__)

CONTENT_TYPES: tuple[str, ...] = ContentType.__args__  # type: ignore[attr-defined]
MIN_POSTS = 30  # per platform, below which the priors answer for it
# How long a cached model is trusted on an unchanged analytics version before its data
# fingerprint is compared again (``EngagementModels``).
VERIFY_SECONDS = 300.0
CV_FOLDS = 5
INTERVAL = (0.1, 0.9)
# The band around a prior-based prediction: x/÷ this factor. Per-post rates scatter by about
# that much around their mean even when the mean is known; here the mean is a guess as well.
PRIOR_SPREAD = 1.8

_HASHTAG = re.compile(r"(?<![\w&])#\w+", re.UNICODE)
_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_EMOJI = re.compile(
    "[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\u2b50\u2b55\u2764]"
)


class DraftFeatures(CamelModel):
    """What the model knows about a post: everything a draft already has."""

    platform: Platform
    content_type: ContentType
    weekday: int = Field(ge=0, le=6, description="local, 0 = Monday")
    hour: float = Field(ge=0, lt=24, description="local hour with minutes as a fraction")
    text_length: int = Field(ge=0, description="characters, hashtags and URLs left out")
    hashtag_count: int = Field(ge=0)
    has_link: bool = False
    has_question: bool = False
    emoji_count: int = Field(default=0, ge=0)


class Driver(CamelModel):
    """How much one feature moves this prediction against the tenant's typical post."""

    feature: str
    value: str
    typical: str
    effect: float = Field(description="relative change: 0.35 = +35%")


class Prediction(CamelModel):
    rate: float = Field(description="expected engagement rate, a fraction")
    low: float = Field(description="10th percentile")
    high: float = Field(description="90th percentile")
    source: Literal["model", "prior"]
    platform: str
    platform_median: float | None = Field(
        description="the tenant's typical (median) rate on the platform"
    )
    lift: float | None = Field(description="rate / platform_median")
    basis: str
    drivers: list[Driver] = Field(default_factory=list)


class TrainReport(CamelModel):
    organization_id: str
    n_samples: int
    per_platform: dict[str, int]
    modeled_platforms: list[str]
    prior_platforms: list[str] = Field(description="platforms with data, too little to model")
    cv_folds: int = 0
    cv_samples: int = Field(default=0, description="held-out samples of modeled platforms")
    cv_mae_model: float | None = Field(
        default=None, description="out-of-fold MAE of the model, on the rate scale"
    )
    cv_mae_baseline: float | None = Field(
        default=None, description="the same for the per-platform mean rate (the brief's baseline)"
    )
    cv_mae_median_baseline: float | None = Field(
        default=None, description="the same for the per-platform median rate, a harder baseline"
    )
    cv_improvement: float | None = Field(
        default=None, description="1 - model MAE / mean-baseline MAE"
    )
    cv_interval_coverage: float | None = Field(
        default=None,
        description="share of held-out rates inside a band built from the other folds (aim 0.8)",
    )
    fingerprint: str
    trained_at: datetime
    seconds: float


# --- features ------------------------------------------------------------------------------


def featurize(
    text: str,
    hashtags: Sequence[str],
    platform: str,
    content_type: str,
    at: datetime,
    timezone: str,
    *,
    links: Sequence[str] = (),
) -> DraftFeatures:
    """Features of a draft from its raw fields. ``at`` is an instant (naive = UTC); weekday
    and hour are taken in ``timezone``. Hashtags count once whether listed, in the text, or
    both; text length leaves hashtags and URLs out so it means the same either way."""
    local = as_utc(at).astimezone(zone(timezone))
    tags = {t.lower().lstrip("#") for t in hashtags if t.strip("# ")}
    tags |= {t.lower().lstrip("#") for t in _HASHTAG.findall(text)}
    body = _URL.sub(" ", _HASHTAG.sub(" ", text))
    body = " ".join(body.split())
    return DraftFeatures(
        platform=platform,  # type: ignore[arg-type]
        content_type=content_type,  # type: ignore[arg-type]
        weekday=local.weekday(),
        hour=local.hour + local.minute / 60,
        text_length=len(body),
        hashtag_count=len(tags),
        has_link=bool(links) or bool(_URL.search(text)) or content_type == "link",
        has_question="?" in body,
        emoji_count=len(_EMOJI.findall(text)),
    )


# The model's input columns. Hour and weekday are plain numbers, not sin/cos pairs: trees cut
# thresholds, and with cyclic pairs an hour the tenant never posts at (03:00) fell into
# whichever leaf its sine and cosine happened to share with an evening hour. Hashtag count and
# text length are taken relative to the tenant's median on the platform, because their ranges
# differ by platform (1-2 tags on Twitter, 4-7 on Instagram): absolute counts let the trees
# learn "few hashtags = a low-rate platform" and apply it to an Instagram draft with one tag.
# The target is the log-odds of the rate minus the platform's median log-odds, so the trees
# learn effects, and where they know nothing the prediction stays at the platform's median.
FEATURE_NAMES: tuple[str, ...] = (
    *(f"platform={p}" for p in PLATFORMS),
    *(f"content_type={c}" for c in CONTENT_TYPES),
    "hour",
    "weekday",
    "weekend",
    "text_length_vs_median",
    "hashtags_vs_median",
    "has_link",
    "has_question",
    "emoji_count",
)
# Which field a driver swaps for the tenant's typical value.
DRIVER_FIELDS: dict[str, str] = {
    "hour": "hour",
    "weekday": "weekday",
    "content type": "content_type",
    "hashtags": "hashtag_count",
    "text length": "text_length",
    "link": "has_link",
    "question": "has_question",
    "emoji": "emoji_count",
}


@dataclass(frozen=True)
class PlatformNorms:
    """What the tenant's posts on one platform look like."""

    count: int
    center: float  # median log-odds of the rate
    median_rate: float
    log_length: float  # median log1p(text length)
    hashtags: float  # median hashtag count
    hours: frozenset[int]  # local hours the tenant has posted at
    prior_adjust: float  # mean prior lift (content type x time) of these posts
    typical: DraftFeatures  # the most common value of each field


def vectorize(rows: Sequence[DraftFeatures], norms: Mapping[str, PlatformNorms]) -> np.ndarray:
    """The model's input matrix, columns as in ``FEATURE_NAMES``."""
    out = np.zeros((len(rows), len(FEATURE_NAMES)))
    base = len(PLATFORMS) + len(CONTENT_TYPES)
    for i, f in enumerate(rows):
        norm = norms[f.platform]
        out[i, PLATFORMS.index(f.platform)] = 1.0
        out[i, len(PLATFORMS) + CONTENT_TYPES.index(f.content_type)] = 1.0
        out[i, base:] = (
            f.hour,
            f.weekday,
            float(f.weekday >= 5),
            math.log1p(f.text_length) - norm.log_length,
            f.hashtag_count - norm.hashtags,
            float(f.has_link),
            float(f.has_question),
            f.emoji_count,
        )
    return out


def platform_norms(samples: Sequence[Sample]) -> dict[str, PlatformNorms]:
    """``PlatformNorms`` of every platform in ``samples``."""
    by_platform: dict[str, list[Sample]] = {}
    for s in samples:
        by_platform.setdefault(s.features.platform, []).append(s)
    norms = {}
    for platform, mine in by_platform.items():
        feats = [s.features for s in mine]
        rates = np.array([s.rate for s in mine])

        def mode(field: str, feats: list[DraftFeatures] = feats) -> Any:
            return Counter(getattr(f, field) for f in feats).most_common(1)[0][0]

        def median(field: str, feats: list[DraftFeatures] = feats) -> float:
            return float(np.median([getattr(f, field) for f in feats]))

        typical = feats[0].model_copy(
            update={
                "content_type": mode("content_type"),
                "weekday": mode("weekday"),
                "hour": float(int(median("hour"))),
                "text_length": int(median("text_length")),
                "hashtag_count": int(median("hashtag_count")),
                "has_link": mode("has_link"),
                "has_question": mode("has_question"),
                "emoji_count": int(median("emoji_count")),
            }
        )
        norms[platform] = PlatformNorms(
            count=len(mine),
            center=float(np.median([logit(r) for r in rates])),
            median_rate=float(np.median(rates)),
            log_length=float(np.median([math.log1p(f.text_length) for f in feats])),
            hashtags=median("hashtag_count"),
            hours=frozenset(int(f.hour) for f in feats),
            prior_adjust=float(
                np.mean(
                    [
                        content_lift(platform, f.content_type)
                        * time_lift(platform, f.weekday, int(f.hour))
                        for f in feats
                    ]
                )
            ),
            typical=typical,
        )
    return norms


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    features: DraftFeatures
    rate: float
    published_at: datetime
    key: str  # post id and platform, for a stable order


async def data_fingerprint(db: Any, org_id: ObjectId) -> str:
    """A cheap digest of what training reads: per collection, how many documents and the
    latest ``createdAt`` and ``updatedAt``. Any insert, update or delete changes it (a delete
    lowers a count; an insert raises it; an update through the repository sets updatedAt)."""
    group = {
        "$group": {
            "_id": None,
            "n": {"$sum": 1},
            "created": {"$max": "$createdAt"},
            "updated": {"$max": "$updatedAt"},
        }
    }
    parts = []
    for model, match in (
        (Analytics, {}),
        (Post, {"scheduling.status": "published"}),
        (SocialAccount, {}),
    ):
        rows = await TenantRepository(db, model).aggregate(org_id, [{"$match": match}, group])
        row = rows[0] if rows else {}
        stamps = [_stamp(row.get(k)) for k in ("created", "updated")]
        parts.append(f"{model.collection}:{row.get('n', 0)}:{stamps[0]}:{stamps[1]}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _stamp(value: Any) -> str:
    return as_utc(value).isoformat() if isinstance(value, datetime) else "-"


async def load_samples(
    db: Any, org_id: ObjectId, now: datetime | None = None
) -> tuple[list[Sample], dict[str, str]]:
    """The tenant's published posts joined with their analytics, and the timezone per
    platform. Only ``TenantRepository`` reads: nothing of another tenant can come back."""
    query: dict[str, Any] = {"scheduling.status": "published"}
    if now is not None:
        query["scheduling.publishedAt"] = {"$lte": as_utc(now)}
    posts = {p.id: p for p in await TenantRepository(db, Post).find(org_id, query)}
    analytics = await TenantRepository(db, Analytics).find(org_id)
    zones = await account_timezones(db, org_id)

    latest: dict[tuple[ObjectId, str], Analytics] = {}
    for doc in analytics:
        key = (doc.post_id, doc.platform)
        seen = latest.get(key)
        if seen is None or _doc_time(doc) > _doc_time(seen):
            latest[key] = doc  # several snapshots of one post: the newest counts

    samples = []
    for (post_id, platform), doc in latest.items():
        post = posts.get(post_id)
        m = doc.metrics
        if post is None or m.reach <= 0:
            continue
        at = post.scheduling.published_at or doc.time_data.recorded_at
        engaged = m.likes + m.comments + m.shares + m.saves
        features = featurize(
            post.content.text,
            post.content.hashtags,
            platform,
            post.content.content_type,
            at,
            zones.get(platform, zones["*"]),
            links=post.content.links,
        )
        samples.append(Sample(features, engaged / m.reach, at, f"{post_id}:{platform}"))
    samples.sort(key=lambda s: (s.published_at, s.key))
    return samples, zones


async def account_timezones(db: Any, org_id: ObjectId) -> dict[str, str]:
    """Platform -> IANA timezone of the tenant's account there; ``"*"`` is the organization's
    own timezone, for platforms without an account. An account left at the default "UTC"
    defers to the organization's setting."""
    default = (await load_settings(db, org_id)).timezone
    zones = {"*": default}
    for account in await TenantRepository(db, SocialAccount).find(org_id):
        tz = account.settings.timezone
        zones.setdefault(account.platform, tz if tz != "UTC" else default)
    return zones


def _doc_time(doc: Analytics) -> datetime:
    return doc.updated_at or doc.created_at


# --- the model -----------------------------------------------------------------------------


# The columns a writer controls: length, hashtags, link, question, emoji and the media type.
# A tree model is flat between its cuts, so two different drafts often fell into the same
# leaves and got the identical figure; a regularised linear part on these columns, fitted
# first, makes every prediction move with the draft by an effect learned from the tenant's
# posts (shrunk toward none where the posts do not show one). The trees then fit what is left,
# the timing and the interactions, as before.
DRAFT_COLUMNS: tuple[str, ...] = (
    *(f"content_type={c}" for c in CONTENT_TYPES),
    "text_length_vs_median",
    "hashtags_vs_median",
    "has_link",
    "has_question",
    "emoji_count",
)
_DRAFT_INDEX = np.array([FEATURE_NAMES.index(c) for c in DRAFT_COLUMNS])
# The ridge penalty on standardised columns, in samples' worth: with a few hundred posts an
# effect needs a clear, repeated difference to move a prediction by much.
DRAFT_ALPHA = 30.0


def _draft_linear() -> Pipeline:
    # Huber, like the trees: one viral post must not hand its rate to whatever its text had.
    return make_pipeline(
        StandardScaler(), HuberRegressor(epsilon=1.35, alpha=DRAFT_ALPHA, max_iter=1000)
    )


def _estimator() -> GradientBoostingRegressor:
    # Small, shallow and regularised: a tenant has a few hundred posts. Huber loss keeps the
    # odd viral post from dragging its neighbours' predictions up. Fixed seed: the same data
    # gives the same model. (GradientBoostingRegressor, not the histogram variant: on a few
    # hundred rows the latter's thread start-up costs ten times the fit.)
    return GradientBoostingRegressor(
        loss="huber",
        n_estimators=100,
        learning_rate=0.1,
        max_depth=3,
        min_samples_leaf=6,
        subsample=0.8,
        random_state=0,
    )


@dataclass(frozen=True)
class _Fit:
    # The linear part on the draft's columns (``DRAFT_COLUMNS``) as weights on the raw
    # columns and an offset: the scaler folded in, a dot product instead of a pipeline call.
    weights: np.ndarray
    offset: float
    estimator: GradientBoostingRegressor  # on every column, fitted to what the linear part left
    norms: dict[str, PlatformNorms]

    def predict_logit(self, rows: Sequence[DraftFeatures]) -> np.ndarray:
        centers = np.array([self.norms[r.platform].center for r in rows])
        x = vectorize(rows, self.norms)
        return centers + self.linear(x) + self.estimator.predict(x)

    def linear(self, x: np.ndarray) -> np.ndarray:
        return x[:, _DRAFT_INDEX] @ self.weights + self.offset


def _fit(samples: Sequence[Sample]) -> _Fit:
    norms = platform_norms(samples)
    x = vectorize([s.features for s in samples], norms)
    y = np.array([logit(s.rate) - norms[s.features.platform].center for s in samples])
    pipeline = _draft_linear().fit(x[:, _DRAFT_INDEX], y)
    scaler, huber = pipeline[0], pipeline[-1]
    weights = huber.coef_ / scaler.scale_
    offset = float(huber.intercept_ - weights @ scaler.mean_)
    fit = _Fit(weights, offset, _estimator(), norms)
    fit.estimator.fit(x, y - fit.linear(x))
    return fit


class EngagementModel:
    """One tenant's engagement model: ``train`` it, then ``predict`` drafts."""

    def __init__(self, *, min_posts: int = MIN_POSTS) -> None:
        self.min_posts = min_posts
        self.report: TrainReport | None = None
        self.timezones: dict[str, str] = {"*": "UTC"}
        self.norms: dict[str, PlatformNorms] = {}
        self._fit: _Fit | None = None
        self._bands: dict[str, tuple[float, float]] = {}

    @property
    def trained(self) -> bool:
        return self.report is not None

    def timezone_for(self, platform: str) -> str:
        return self.timezones.get(platform, self.timezones["*"])

    def modeled(self, platform: str) -> bool:
        norm = self.norms.get(platform)
        return self._fit is not None and norm is not None and norm.count >= self.min_posts

    async def train(self, db: Any, org_id: ObjectId, now: datetime | None = None) -> TrainReport:
        """Read the tenant's data (published up to ``now``; all of it by default) and fit it
        in a worker thread."""
        started = time.perf_counter()
        fingerprint = await data_fingerprint(db, org_id)
        samples, zones = await load_samples(db, org_id, now)
        report = await asyncio.to_thread(self._train, samples)
        self.timezones = zones
        self.report = report.model_copy(
            update={
                "organization_id": str(org_id),
                "fingerprint": fingerprint,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
        log.info(
            "engagement model for %s: %d samples, CV MAE %s vs platform means %s",
            org_id,
            report.n_samples,
            report.cv_mae_model,
            report.cv_mae_baseline,
        )
        return self.report

    def _train(self, samples: list[Sample]) -> TrainReport:
        self.norms = platform_norms(samples)
        counts = {p: n.count for p, n in sorted(self.norms.items())}
        modeled = [p for p, n in counts.items() if n >= self.min_posts]
        report = TrainReport(
            organization_id="",
            n_samples=len(samples),
            per_platform=counts,
            modeled_platforms=modeled,
            prior_platforms=[p for p in counts if p not in modeled],
            fingerprint="",
            trained_at=utcnow(),
            seconds=0.0,
        )
        self._fit, self._bands = None, {}
        if not modeled:
            return report

        rates = np.array([s.rate for s in samples])
        y = np.array([logit(r) for r in rates])
        platforms = np.array([s.features.platform for s in samples])
        oof = np.full(len(samples), np.nan)
        means = np.full(len(samples), np.nan)
        medians = np.full(len(samples), np.nan)
        fold_of = np.full(len(samples), -1)
        folds = CV_FOLDS if len(samples) >= CV_FOLDS * 10 else 0
        if folds:
            splits = KFold(folds, shuffle=True, random_state=0).split(rates)
            for k, (train_idx, test_idx) in enumerate(splits):
                fit = _fit([samples[i] for i in train_idx])
                test = [i for i in test_idx if samples[i].features.platform in fit.norms]
                oof[test] = fit.predict_logit([samples[i].features for i in test])
                fold_of[test_idx] = k
                for i in test:
                    mine = rates[train_idx][platforms[train_idx] == platforms[i]]
                    means[i], medians[i] = mine.mean(), np.median(mine)
        self._fit = _fit(samples)

        scored = np.isin(platforms, modeled) & ~np.isnan(oof)
        spread = math.log(PRIOR_SPREAD)
        self._bands = {p: (-spread, spread) for p in modeled}
        if not scored.any():
            return report  # too few samples to cross-validate: a fixed, wide band
        residuals = y - oof
        self._bands = self._residual_bands(residuals, platforms, scored, modeled)

        # Coverage of the band, checked honestly: each fold's samples against a band built
        # from the other folds' residuals only (the band is their 10th-90th percentile, so
        # measured on its own residuals it would be 80% by construction).
        inside = np.zeros(len(samples), dtype=bool)
        for k in range(folds):
            held = fold_of == k
            bands = self._residual_bands(residuals, platforms, scored & ~held, modeled)
            lows = np.array([bands.get(p, (0.0, 0.0))[0] for p in platforms])
            highs = np.array([bands.get(p, (0.0, 0.0))[1] for p in platforms])
            inside[held] = (residuals[held] >= lows[held]) & (residuals[held] <= highs[held])

        actual = rates[scored]
        mae = float(np.mean(np.abs(_expit(oof[scored]) - actual)))
        mae_mean = float(np.mean(np.abs(means[scored] - actual)))
        mae_median = float(np.mean(np.abs(medians[scored] - actual)))
        return report.model_copy(
            update={
                "cv_folds": folds,
                "cv_samples": int(scored.sum()),
                "cv_mae_model": round(mae, 6),
                "cv_mae_baseline": round(mae_mean, 6),
                "cv_mae_median_baseline": round(mae_median, 6),
                "cv_improvement": round(1 - mae / mae_mean, 4) if mae_mean else None,
                "cv_interval_coverage": round(float(inside[scored].mean()), 4),
            }
        )

    def _residual_bands(
        self, residuals: np.ndarray, platforms: np.ndarray, use: np.ndarray, modeled: list[str]
    ) -> dict[str, tuple[float, float]]:
        """Per platform, the 10th and 90th percentiles of the log-odds residuals in ``use``
        (pooled over platforms where one has fewer than ``min_posts``)."""
        pooled = np.quantile(residuals[use], INTERVAL)
        bands = {}
        for p in modeled:
            mine = residuals[use & (platforms == p)]
            q = np.quantile(mine, INTERVAL) if len(mine) >= self.min_posts else pooled
            bands[p] = (float(q[0]), float(q[1]))
        return bands

    # --- prediction ----------------------------------------------------------------------

    def predict(self, features: DraftFeatures) -> Prediction:
        """Expected rate with an 80% band, from the model or, for thin platforms, the priors."""
        return self.predict_many([features])[0]

    def predict_many(self, rows: Sequence[DraftFeatures]) -> list[Prediction]:
        """``predict`` of each row, in order. The model's rows and their drivers are scored
        in two batches: an optimizer scores a dozen variants and slots per draft, and each
        call into the estimators has a fixed cost far above its per-row cost."""
        if not self.trained:
            raise RuntimeError("train the model before predicting")
        out: list[Prediction | None] = [None] * len(rows)
        asked: list[tuple[int, _Asked]] = []
        for i, features in enumerate(rows):
            if self.modeled(features.platform):
                asked.append((i, self._asked(features)))
            else:
                out[i] = self._from_prior(features)
        if asked:
            assert self._fit is not None
            centres = self._fit.predict_logit([a.features for _, a in asked])
            drivers = self._drivers_many([a.features for _, a in asked], centres)
            for (i, a), centre, found in zip(asked, centres, drivers, strict=True):
                out[i] = self._from_model(a, float(centre), found)
        return [p for p in out if p is not None]

    def _asked(self, features: DraftFeatures) -> _Asked:
        """An hour the tenant never posts at on this platform: the model answers for the
        nearest hour it knows and the prior's week shape scales that to the asked hour."""
        platform = features.platform
        nearest = _nearest_hour(int(features.hour), self.norms[platform].hours)
        if nearest is None:
            return _Asked(features, features, 1.0)
        moved = features.model_copy(update={"hour": nearest + features.hour % 1})
        factor = time_lift(platform, features.weekday, int(features.hour)) / time_lift(
            platform, features.weekday, nearest
        )
        return _Asked(features, moved, factor)

    def _from_model(self, asked: _Asked, centre: float, drivers: list[Driver]) -> Prediction:
        assert self.report is not None
        features, factor = asked.features, asked.factor
        platform = features.platform
        norm = self.norms[platform]
        q_low, q_high = self._bands[platform]
        rate = expit(centre) * factor
        basis = (
            f"model of your {self.report.n_samples} published posts ({norm.count} on "
            f"{platform}): the draft's features, then gradient-boosted trees for timing and the "
            "rest; 80% band from cross-validated errors"
        )
        if asked.moved:
            basis += (
                f"; you have not posted at {_hhmm(asked.original.hour)} on {platform}, so the "
                f"model's {_hhmm(features.hour)} estimate is scaled by the typical hour pattern"
            )
            drivers = [
                Driver(
                    feature="hour (typical pattern)",
                    value=_hhmm(asked.original.hour),
                    typical=_hhmm(features.hour),
                    effect=round(factor - 1, 3),
                ),
                *drivers,
            ]
        return Prediction(
            rate=round(rate, 5),
            low=round(expit(centre + q_low) * factor, 5),
            high=round(min(1.0, expit(centre + q_high) * factor), 5),
            source="model",
            platform=platform,
            platform_median=round(norm.median_rate, 5),
            lift=round(rate / norm.median_rate, 3),
            basis=basis,
            drivers=drivers[:3],
        )

    def _from_prior(self, features: DraftFeatures) -> Prediction:
        platform = features.platform
        norm = self.norms.get(platform)
        level = PLATFORM_ENGAGEMENT[platform]
        if norm is not None:
            # The tenant's own median, brought to the prior's "image at an average hour" scale,
            # blended with the prior's level by how many posts stand behind it.
            level = shrink(norm.median_rate / norm.prior_adjust, norm.count, level)
        ct_lift = content_lift(platform, features.content_type)
        t_lift = time_lift(platform, features.weekday, int(features.hour))
        rate = level * ct_lift * t_lift
        n = norm.count if norm else 0
        basis = f"typical {platform} rate for a {features.content_type} post at this time"
        basis += f", blended with your {n} posts there" if n else " (no posts of yours there yet)"
        drivers = [
            Driver(
                feature="content type",
                value=features.content_type,
                typical="image",
                effect=round(ct_lift - 1, 3),
            ),
            Driver(
                feature="time",
                value=f"{_weekday(features.weekday)} {_hhmm(features.hour)}",
                typical="an average posting hour",
                effect=round(t_lift - 1, 3),
            ),
        ]
        return Prediction(
            rate=round(rate, 5),
            low=round(rate / PRIOR_SPREAD, 5),
            high=round(min(1.0, rate * PRIOR_SPREAD), 5),
            source="prior",
            platform=platform,
            platform_median=round(norm.median_rate, 5) if norm else None,
            lift=round(rate / norm.median_rate, 3) if norm else None,
            basis=basis,
            drivers=sorted(drivers, key=lambda d: -abs(d.effect)),
        )

    def _drivers_many(
        self, rows: Sequence[DraftFeatures], centres: np.ndarray
    ) -> list[list[Driver]]:
        """Per row, swap one field at a time for the tenant's typical value on its platform
        and see how far the prediction moves: one batch for every row, easy to say in words."""
        assert self._fit is not None
        swaps: list[tuple[int, str]] = []  # (row, driver name) of each variant scored
        variants: list[DraftFeatures] = []
        for i, features in enumerate(rows):
            typical = self.norms[features.platform].typical
            for name, field in DRIVER_FIELDS.items():
                if getattr(features, field) != getattr(typical, field):
                    swaps.append((i, name))
                    variants.append(features.model_copy(update={field: getattr(typical, field)}))
        found: list[list[Driver]] = [[] for _ in rows]
        if not variants:
            return found
        others = self._fit.predict_logit(variants)
        for (i, name), other in zip(swaps, others, strict=True):
            effect = expit(float(centres[i])) / expit(float(other)) - 1
            if abs(effect) >= 0.02:
                field = DRIVER_FIELDS[name]
                typical = self.norms[rows[i].platform].typical
                found[i].append(
                    Driver(
                        feature=name,
                        value=_show(field, getattr(rows[i], field)),
                        typical=_show(field, getattr(typical, field)),
                        effect=round(effect, 3),
                    )
                )
        return [sorted(d, key=lambda d: -abs(d.effect)) for d in found]


@dataclass(frozen=True)
class _Asked:
    """A draft as asked (``original``) and as the model is asked it (``features``: at the
    nearest hour the tenant has posted at, then scaled by ``factor``)."""

    original: DraftFeatures
    features: DraftFeatures
    factor: float

    @property
    def moved(self) -> bool:
        return self.features is not self.original


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def _nearest_hour(hour: int, seen: frozenset[int]) -> int | None:
    """None if the tenant has posted within an hour of ``hour``; else the closest hour it has
    posted at (around the clock)."""
    if not seen:
        return None

    def distance(h: int) -> int:
        return min((h - hour) % 24, (hour - h) % 24)

    closest = min(sorted(seen), key=distance)
    return None if distance(closest) <= 1 else closest


def _weekday(d: int) -> str:
    return ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d]


def _hhmm(hour: float) -> str:
    minutes = round(hour * 60)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def _show(field: str, value: Any) -> str:
    if field == "hour":
        return _hhmm(value)
    if field == "weekday":
        return _weekday(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# --- the per-tenant cache ------------------------------------------------------------------


@dataclass
class _Cached:
    model: EngagementModel
    version: int | None  # the analytics version it was last checked against; None: never
    checked_at: float  # when its fingerprint was last compared, on the cache's clock


class EngagementModels:
    """Trained models by organization id. ``get`` returns the cached model while the tenant's
    data is unchanged and retrains (once, even under concurrent calls) when it changes.
    Least recently used tenants are dropped beyond ``max_tenants``.

    "Unchanged" is first asked of the organization's analytics version, one indexed read that
    every metrics write bumps (``persistence.analytics_versions``). The data fingerprint, which
    aggregates every analytics row, post and account of the tenant and used to cost more than
    the rest of an optimizer run, is computed only when the version moved or the model was last
    checked ``verify_seconds`` ago: a write that skips the bump (a published post, an account's
    timezone) is still noticed, that much later."""

    def __init__(
        self,
        *,
        max_tenants: int = 256,
        min_posts: int = MIN_POSTS,
        verify_seconds: float = VERIFY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_tenants = max_tenants
        self.min_posts = min_posts
        self.verify_seconds = verify_seconds
        self.trainings = 0  # how many times a model was trained: for tests and metrics
        self._clock = clock
        self._models: OrderedDict[ObjectId, _Cached] = OrderedDict()
        self._locks: dict[ObjectId, asyncio.Lock] = {}

    async def get(self, db: Any, org_id: ObjectId) -> EngagementModel:
        # The version is read before anything else: a write during a training leaves the
        # model stored with the older version, so the next call checks again.
        version = await analytics_version(db, org_id)
        cached = self._models.get(org_id)
        if (
            cached is not None
            and cached.version == version
            and self._clock() - cached.checked_at < self.verify_seconds
        ):
            self._models.move_to_end(org_id)
            return cached.model
        fingerprint = await data_fingerprint(db, org_id)
        model = self._fresh(org_id, fingerprint, version)
        if model is not None:
            return model
        lock = self._locks.setdefault(org_id, asyncio.Lock())
        async with lock:
            model = self._fresh(org_id, fingerprint, version)  # another call may have trained
            if model is not None:
                return model
            model = EngagementModel(min_posts=self.min_posts)
            await model.train(db, org_id)
            self.trainings += 1
            self.put(org_id, model, version=version)
            return model

    def put(self, org_id: ObjectId, model: EngagementModel, *, version: int | None = None) -> None:
        """Keep a model trained elsewhere (a warm-up job); without the analytics ``version``
        it was trained at, ``get`` checks its fingerprint before using it."""
        if model.report is None:
            raise ValueError("only a trained model can be cached")
        self._models[org_id] = _Cached(model, version, self._clock())
        self._models.move_to_end(org_id)
        while len(self._models) > self.max_tenants:
            dropped, _ = self._models.popitem(last=False)
            self._locks.pop(dropped, None)

    def _fresh(self, org_id: ObjectId, fingerprint: str, version: int) -> EngagementModel | None:
        """The cached model if it was trained on data with this fingerprint (and from now on
        known to match ``version``)."""
        cached = self._models.get(org_id)
        if cached is None or cached.model.report is None:
            return None
        if cached.model.report.fingerprint != fingerprint:
            return None
        cached.version, cached.checked_at = version, self._clock()
        self._models.move_to_end(org_id)
        return cached.model

    def clear(self, org_id: ObjectId | None = None) -> None:
        if org_id is None:
            self._models.clear()
        else:
            self._models.pop(org_id, None)


# The process-wide cache the tool uses. A runtime that wants its own (one per process is the
# norm; tests may want isolation) sets ``engagement_models`` on the services it passes in.
MODELS = EngagementModels()


def models_for(services: Any) -> EngagementModels:
    cache = getattr(services, "engagement_models", None)
    return cache if isinstance(cache, EngagementModels) else MODELS


async def predict_for(
    services: Any,
    org_id: ObjectId,
    *,
    text: str,
    platform: str,
    hashtags: list[str],
    content_type: str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The engagement prediction for a draft on the tenant's own model (or the priors); a
    naive ``at`` is the account's local time. ValueError for a draft that cannot be read."""
    model = await models_for(services).get(services.db, org_id)
    tz = model.timezone_for(platform)
    when = utcnow() if at is None else at
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(tz))
    features = featurize(text, hashtags, platform, content_type, when, tz)
    prediction = model.predict(features)
    report = model.report
    return {
        **prediction.model_dump(mode="json"),
        "timezone": tz,
        "features": features.model_dump(mode="json"),
        "trainedOn": report.n_samples if report else 0,
        "cvMae": report.cv_mae_model if report else None,
        "cvMaeBaseline": report.cv_mae_baseline if report else None,
    }


@tool
async def predict_engagement(
    text: str,
    platform: Platform,
    hashtags: list[str],
    content_type: ContentType,
    runtime: ToolRuntime[RunContext],
    at: datetime | None = None,
) -> dict:
    """Predict the engagement rate a draft post can expect, from this organization's own
    published posts (or typical platform rates when it has too few on that platform).

    Args:
        text: the post text.
        platform: the network it will be published on.
        hashtags: its hashtags (with or without "#").
        content_type: text, image, video, carousel, story or link.
        at: when it would be published, ISO-8601; without an offset it is read as the
            account's local time. Default: now.

    Returns the expected rate (a fraction: 0.042 = 4.2%), an 80% range, whether a model or
    the priors answered, the platform average, and the features that move it most.
    """
    run = runtime.context
    try:
        return await predict_for(
            run.services,
            run.org_id,
            text=text,
            platform=platform,
            hashtags=hashtags,
            content_type=content_type,
            at=at or run.now,
        )
    except ValueError as exc:
        raise ToolException(str(exc)) from exc


# Bad input comes back to the model as a message it can act on, not as a crash.
predict_engagement.handle_tool_error = True
predict_engagement.handle_validation_error = validation_message
