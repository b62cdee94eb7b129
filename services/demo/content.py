"""Post copy for the demo brand: themes, templates, hashtags and media, drawn from one RNG."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from persistence.models.content import Dimensions, MediaFile
from services.demo.planted import PROFILES, TRENDING_HASHTAG

SITE = "https://lumencoffee.example"
MEDIA_BASE = "https://media.lumencoffee.example/demo"

K = TypeVar("K")

ORIGINS = (
    ("Ethiopia Yirgacheffe", "jasmine, bergamot and lemon curd"),
    ("Colombia Huila", "red apple, panela and cocoa"),
    ("Kenya Nyeri AA", "blackcurrant and pink grapefruit"),
    ("Guatemala Antigua", "milk chocolate and toasted almond"),
    ("Costa Rica Tarrazú honey", "apricot and brown sugar"),
    ("Sumatra Gayo", "cedar, dark chocolate and clove"),
    ("Rwanda Nyamasheke", "red grape and hibiscus"),
    ("Brazil Cerrado", "hazelnut and caramel"),
)
# The producer co-op behind each origin, as the networks' @handle.
PARTNERS = {
    "Ethiopia Yirgacheffe": "@yirgacheffeunion",
    "Colombia Huila": "@huilacoop",
    "Kenya Nyeri AA": "@nyerifarmers",
    "Guatemala Antigua": "@antiguagrowers",
    "Costa Rica Tarrazú honey": "@tarrazucoop",
    "Sumatra Gayo": "@gayocoffee",
    "Rwanda Nyamasheke": "@nyamashekewomen",
    "Brazil Cerrado": "@cerradomineiro",
}
METHODS = ("V60", "Chemex", "AeroPress", "French press", "espresso", "moka pot")
CAFES = ("Park Slope", "Williamsburg", "Hoboken", "Astoria")
STAFF = (
    ("Priya", "head roaster", "She has cupped more than 4,000 coffees and still gets excited."),
    ("Jonah", "green coffee buyer", "He spends harvest season on farms in Huila and Nyeri."),
    ("Alma", "lead barista", "Her rosetta has its own fan club at the Park Slope bar."),
    ("Theo", "wholesale manager", "He keeps 60 cafés and offices in fresh coffee every week."),
)
TIPS = (
    "grind just before you brew; ground coffee loses aroma within minutes.",
    "use water just off the boil, around 94°C, for light roasts.",
    "weigh your coffee. 1:16 is a great starting ratio for pour-over.",
    "let the bloom go 30-45 seconds so the CO2 can escape before the main pour.",
    "store beans in an airtight tin away from light, not in the fridge.",
    "if it tastes sour, grind finer; if it tastes bitter, grind coarser.",
)
QUESTIONS = (
    "Settle this for us: {method} or {method2}? Tell us in the comments.",
    "What's in your cup this morning? Drop your brew method below.",
    "Be honest: how many cups before 10am?",
    "Which origin should we roast next month: {origin} or {origin2}?",
)
TEMPLATES: dict[str, tuple[str, ...]] = {
    "origin": (
        "New on the shelf: {origin}. Expect {notes}. Roasted light for {method}.",
        "Just landed from our partners: {origin}. Cupping notes: {notes}.",
    ),
    "brew_tip": ("Brew tip: {tip}", "Small change, better cup: {tip}"),
    "roastery": (
        "Roast day: {kg} kg of {origin} just came out of the drum.",
        "Behind the scenes: sample-roasting {origin} before we commit to a full batch.",
    ),
    "cafe_event": (
        "This Saturday at our {cafe} café: a free cupping of {origin} at 10am. Come taste with us.",
        "Open mic and pour-over night at {cafe}, Thursday from 7pm.",
    ),
    "promo": (
        "Subscribers get {pct}% off {origin} through Sunday. Roasted to order, shipped fresh.",
        "Our holiday blend is back: {notes}. Pre-orders are open.",
    ),
    "sustainability": (
        "This harvest we paid {premium}% above the Fair Trade minimum to our {origin} partners. "
        "Direct trade is slower and costs more; it is also the only way we know where every "
        "dollar goes. Our price transparency report is public.",
        "Our roastery now runs on 100% renewable electricity, and our bags are compostable. "
        "Here is what it took, and what it cost.",
    ),
    "team": ("Meet {staff}, our {role}. {staff_fact}",),
    "hiring": ("We're hiring a {job} for our {cafe} café. Great coffee, fair pay, real training.",),
    "latte_art": (
        "Rosetta, tulip or swan? Alma pours all three in 30 seconds.",
        "Slow-motion latte art, because Monday needs it.",
    ),
    "cold_brew": (
        "Cold brew season is here: {origin}, steeped 18 hours, poured over ice.",
        "Our cold brew concentrate is back: 1 part coffee, 2 parts water or oat milk, ice.",
        "Cold brew tip: steep coarse-ground {origin} 16-18 hours in the fridge, then filter.",
    ),
    "viral_latte_art": (
        "POV: you ordered 'just a small coffee' and Alma heard 'latte art masterclass'.",
    ),
    "viral_roastery_cat": ("Meet Bean, our roastery cat, supervising today's roast of {origin}.",),
    "viral_hot_take": (
        "Unpopular opinion from a specialty roaster: the best coffee is the one you enjoy. "
        "Milk and sugar are welcome here.",
    ),
    "viral_roaster_restoration": (
        "Our 1962 Probat roaster, restored by hand over two years. Watch it come back to life.",
    ),
    "incident_notice": (
        "Heads up: a carrier problem is causing a delivery delay of 2-4 days on some subscription "
        "orders. We're on it and will post updates here. Sorry, everyone.",
    ),
    "incident_update": (
        "An update on the delivery delays: our carrier's hub is moving again and delayed "
        "subscription orders ship today. Every affected subscriber gets next month's bag on "
        "us. Thank you for your patience and for the honest feedback.",
    ),
}
THEME_TAGS: dict[str, tuple[str, ...]] = {
    "origin": ("#singleorigin", "#specialtycoffee", "#newarrival", "#coffeeroaster"),
    "brew_tip": ("#brewguide", "#pourover", "#homebarista", "#coffeetips"),
    "question": ("#coffeetalk", "#coffeelover", "#coffeetime"),
    "roastery": ("#roastery", "#behindthescenes", "#smallbatch", "#coffeeroasting"),
    "cafe_event": ("#coffeecommunity", "#cupping", "#brooklyn", "#nyccoffee"),
    "promo": ("#coffeesubscription", "#freshroasted", "#specialtycoffee"),
    "sustainability": ("#directtrade", "#sustainability", "#coffeesupplychain"),
    "team": ("#meettheteam", "#coffeepeople"),
    "hiring": ("#hiring", "#coffeejobs"),
    "latte_art": ("#latteart", "#baristalife", "#coffeeart"),
    "cold_brew": (TRENDING_HASHTAG, "#coldbrew", "#icedcoffee", "#summercoffee"),
    "viral_latte_art": ("#latteart", "#baristalife", "#fyp"),
    "viral_roastery_cat": ("#roasterycat", "#catsofinstagram", "#roastery"),
    "viral_hot_take": ("#coffeetalk",),
    "viral_roaster_restoration": ("#probat", "#roastery", "#restoration"),
    "incident_notice": (),
    "incident_update": (),
}
LINK_THEMES = {"promo", "sustainability", "hiring", "origin"}
LINK_PATHS = {
    "promo": "/shop/subscriptions",
    "sustainability": "/transparency",
    "hiring": "/careers",
    "origin": "/shop/single-origin",
    "brew_tip": "/brew-guides",
    "cafe_event": "/cafes",
    "team": "/about",
    "cold_brew": "/shop/cold-brew",
}
# Which themes each network's team writes, and how often.
THEME_WEIGHTS: dict[str, dict[str, float]] = {
    "instagram": {
        "origin": 3,
        "brew_tip": 2,
        "question": 1.5,
        "roastery": 2,
        "cafe_event": 1,
        "promo": 1,
        "latte_art": 2,
        "team": 1,
    },
    "twitter": {"origin": 2, "brew_tip": 2, "question": 2, "promo": 1.5, "cafe_event": 1},
    "linkedin": {"sustainability": 3, "team": 2, "hiring": 1, "roastery": 1.5, "origin": 1},
    "facebook": {
        "cafe_event": 2.5,
        "promo": 2,
        "origin": 2,
        "question": 1,
        "team": 1,
        "sustainability": 1,
    },
    "tiktok": {"latte_art": 3, "brew_tip": 2, "roastery": 2, "question": 1},
}
TITLES = {
    "origin": "{origin} release",
    "brew_tip": "Brew tip",
    "question": "Community question",
    "roastery": "Roast day: {origin}",
    "cafe_event": "{cafe} café event",
    "promo": "Subscription promo",
    "sustainability": "Sourcing transparency",
    "team": "Meet {staff}",
    "hiring": "Hiring: {job}",
    "latte_art": "Latte art",
    "cold_brew": "Cold brew",
}


@dataclass
class Copy:
    """The words of one post."""

    theme: str
    title: str
    text: str
    hashtags: list[str]
    links: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    is_question: bool = False


def pick(rng: random.Random, weights: Mapping[K, float]) -> K:
    """One key of ``weights``, drawn by weight (dict order is fixed, so this is deterministic)."""
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def choose_theme(rng: random.Random, platform: str) -> str:
    return pick(rng, THEME_WEIGHTS[platform])


def write_copy(rng: random.Random, platform: str, theme: str, content_type: str) -> Copy:
    """Text, hashtags, links and mentions for one post, within the network's length limit."""
    origin, notes = rng.choice(ORIGINS)
    origin2 = rng.choice([o for o, _ in ORIGINS if o != origin])
    method, method2 = rng.sample(METHODS, 2)
    staff, role, staff_fact = rng.choice(STAFF)
    values = {
        "origin": origin,
        "origin2": origin2,
        "notes": notes,
        "method": method,
        "method2": method2,
        "tip": rng.choice(TIPS),
        "kg": rng.choice((12, 15, 24, 30)),
        "cafe": rng.choice(CAFES),
        "pct": rng.choice((10, 15, 20)),
        "premium": rng.choice((35, 42, 60)),
        "staff": staff,
        "role": role,
        "staff_fact": staff_fact,
        "job": rng.choice(("barista", "roaster's assistant", "café manager")),
    }
    is_question = theme == "question"
    template = rng.choice(QUESTIONS if is_question else TEMPLATES[theme])
    text = template.format(**values)
    title = TITLES.get(theme, theme.replace("_", " ").capitalize()).format(**values)

    mentions: list[str] = []
    if theme == "origin" and rng.random() < 0.25:
        mentions.append(PARTNERS[origin])
        text += f" Grown by our partners at {mentions[0]}."
    links: list[str] = []
    if content_type == "link" or (theme in LINK_THEMES and rng.random() < 0.5):
        links.append(SITE + LINK_PATHS.get(theme, "/journal"))
        # Instagram and TikTok captions cannot carry links; the link lives in the bio.
        text += " Link in bio." if platform in ("instagram", "tiktok") else f" {links[0]}"

    profile = PROFILES[platform]
    wanted = rng.randint(*profile.hashtags)
    # The trending tag belongs to cold-brew posts only: its rise is the planted trend.
    tags = [TRENDING_HASHTAG] if theme == "cold_brew" else []
    if not theme.startswith("incident"):
        tags.append("#lumencoffee")
    rest = [t for t in THEME_TAGS.get(theme, ()) if t not in tags]
    tags += rng.sample(rest, min(len(rest), max(0, wanted - len(tags))))

    # Twitter's 280 characters: drop tags first, then shorten, never send an overlong post.
    while tags and len(_with_tags(text, tags)) > profile.max_length:
        tags.pop()
    if len(text) > profile.max_length:
        text = text[: profile.max_length - 1].rstrip() + "…"
    return Copy(theme, title, _with_tags(text, tags), tags, links, mentions, is_question)


def _with_tags(text: str, tags: list[str]) -> str:
    return f"{text}\n\n{' '.join(tags)}" if tags else text


def media_for(rng: random.Random, seq: int, platform: str, content_type: str) -> list[MediaFile]:
    """Media files for a post; URLs point at a reserved example domain (nothing is hosted)."""
    if content_type in ("text", "link"):
        return []
    if content_type == "video":
        vertical = platform in ("tiktok", "instagram")
        dims = (
            Dimensions(width=1080, height=1920) if vertical else Dimensions(width=1920, height=1080)
        )
        return [
            MediaFile(
                url=f"{MEDIA_BASE}/{seq:04d}-1.mp4",
                type="video",
                size=rng.randint(8, 60) * 1_000_000,
                dimensions=dims,
                alt_text="Video from the Lumen roastery and cafés",
            )
        ]
    count = rng.randint(3, 6) if content_type == "carousel" else 1
    return [
        MediaFile(
            url=f"{MEDIA_BASE}/{seq:04d}-{i}.jpg",
            type="image",
            size=rng.randint(300, 2_400) * 1_000,
            dimensions=Dimensions(width=1080, height=1350 if platform == "instagram" else 1080),
            alt_text=rng.choice(
                (
                    "A pour-over brewing on the café bar",
                    "Freshly roasted beans cooling in the drum tray",
                    "A latte with a rosetta on a wooden table",
                    "Bags of single-origin coffee on a shelf",
                )
            ),
        )
        for i in range(1, count + 1)
    ]
