"""Writes ``crisis_manager.v1.jsonl``: hand-written brand mentions with a social-media
manager's risk label each.

The cases are written here, in Python, only because mention lists are long and repetitive in
JSON; every text, reach and label is hand-chosen. Run
``.venv/bin/python -m evals.datasets.build_crisis_manager`` to rewrite the file (byte-for-byte
the same output; ``--check`` exits 1 if the file differs).

How the labels were set (the scale of ``agents.schemas.RISK_LEVELS``), as a community manager
would triage the batch:

- none: nothing to act on: praise, neutral questions, spam, or talk about something else;
- low: individual complaints (sarcastic or plain) to answer one by one, no pattern yet;
- medium: a pattern of complaints, one serious claim (illness, legal, recall rumour), or one
  angry voice with a very large audience: prepare a holding statement, route to care;
- high: a wave of angry posts with real reach, or a serious claim spreading from a big
  account: escalate now, statement out, promos paused;
- critical: a coordinated wave of safety or legal claims with reach (someone got sick, mold,
  lawsuits): crisis team now.

Labels describe the situation, not what the current agent answers; where they disagree, that
is a finding.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from evals.cases import render_rows, write_or_check
from evals.fixtures.lumen import NOW

PATH = Path(__file__).parent / "crisis_manager.v1.jsonl"
BRAND = "Lumen Coffee Roasters"
NEW_BRAND = "Brightside Bakery"  # a brand on the empty fixture: no analytics baseline

# Complaints the metamorphic variants add: plainly negative, no risk terms, modest reach.
MORE_NEGATIVE = [
    {"text": "Lumen lost my order again and nobody answers. Worst service ever.", "reach": 900},
    {"text": "Really disappointed with Lumen lately, terrible customer support.", "reach": 400},
]
METAMORPHIC = {"add_negative": MORE_NEGATIVE, "reach_factor": 10}

PRAISE = [
    "Lumen's Ethiopia cold brew is the best thing I've had all week",
    "Shoutout to the Lumen baristas on 5th Ave, always so friendly",
    "The new holiday blend from Lumen Coffee Roasters is lovely, nutty and smooth",
    "Just renewed my Lumen subscription, the beans are consistently great",
    "Lumen's oat flat white never misses",
    "Visited the Lumen roastery tour today, learned so much, highly recommend",
]


def m(text: str, reach: int | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"text": text}
    if reach is not None:
        out["reach"] = reach
    out.update(extra)
    return out


def praise(n: int, reach: int = 600) -> list[dict[str, Any]]:
    return [m(t, reach + 150 * i) for i, t in enumerate(PRAISE[:n])]


def ago(hours: float) -> str:
    return (NOW - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def case(
    id: str,
    split: str,
    label: str,
    mentions: list[dict[str, Any]],
    tags: list[str],
    note: str,
    *,
    brand: str = BRAND,
    fixture: str = "lumen",
    metamorphic: bool = False,
    volume_anomaly: bool | None = None,
) -> dict[str, Any]:
    expect: dict[str, Any] = {"risk_level": label}
    if volume_anomaly is not None:
        expect["volume_anomaly"] = volume_anomaly
    return {
        "id": id,
        "split": split,
        "fixture": fixture,
        "inputs": {"brand": brand, "mentions": mentions},
        "data": {"metamorphic": METAMORPHIC} if metamorphic else {},
        "expect": expect,
        "tags": tags,
        "note": note,
    }


DELIVERY_WAVE = [
    "Where is my Lumen subscription box?? It's been 9 days and the tracking hasn't moved",
    "@lumencoffee my delivery is a week late and your carrier just says 'delayed'. Useless.",
    "Paid for a subscription, got nothing for two weeks. Lumen, what is going on?",
    "Lumen Coffee Roasters delivery delays again. Cancelling my subscription.",
    "Third delayed shipment in a row from Lumen. I'm done.",
    "Anyone else's Lumen order stuck in transit? Mine has been 'out for delivery' for 5 days",
    "Lumen please answer your DMs, my package is lost and support is silent",
    "So frustrated with Lumen, no coffee, no updates, no refund",
    "Lumen's carrier is a disaster. My beans will be stale by the time they arrive",
    "My Lumen delivery never showed up and the chat bot keeps closing my ticket",
    "Honestly the worst subscription experience I've had. Lumen, fix your shipping",
    "Day 12 of waiting for my Lumen box. Terrible.",
    "Lumen charged my card for this month's box and it still hasn't shipped. Angry.",
    "Is Lumen going under? Nobody's orders are arriving",
    "Unsubscribing from Lumen, delivery has been awful for weeks",
    "lumen coffee where is my order, this is ridiculous",
    "Lumen's shipping delays are ruining my mornings, no coffee again",
    "Cancelled. Lumen can't deliver a bag of beans on time.",
    "Lumen support told me 'soon' 4 days ago. Still nothing. Awful.",
    "Delayed AGAIN. Lumen, this is unacceptable.",
]
SAFETY_WAVE = [
    m("Found mold in my bag of Lumen beans. Green fuzz everywhere. Disgusting.", 42_000),
    m("My kid got sick after drinking Lumen cold brew last night. Threw up twice.", 18_000),
    m("Same here, felt sick after the Lumen cold brew can. Something is wrong", 3_500),
    m("Moldy beans from Lumen Coffee Roasters, photos in thread. Do NOT drink", 65_000),
    m("Lumen cold brew made me so sick, spent the night in the emergency room", 9_000),
    m("Reporting Lumen to the FDA. Mold in sealed bags is unacceptable.", 12_000),
    m("If you bought Lumen beans this month check them for mold before brewing!!", 80_000),
    m("Lumen needs to recall this batch NOW. People are getting sick.", 27_000),
    m("Talking to a lawyer about what Lumen's cold brew did to my stomach", 4_000),
    m("#boycottLumen until they explain the mold", 15_000),
    m("Lumen's silence about the mold reports is deafening", 6_000),
    m("Threw out three bags of Lumen coffee, all moldy", 2_200),
    m("My partner was hospitalized after Lumen cold brew, we're waiting on test results", 31_000),
    m("Every Lumen customer, check your beans. Mold.", 48_000),
    m("Contaminated coffee from Lumen Coffee Roasters, unbelievable", 7_500),
]

CASES: list[dict[str, Any]] = [
    # --- none ------------------------------------------------------------------------------
    case(
        "cm-praise-only",
        "dev",
        "none",
        praise(6),
        ["praise"],
        "Calm praise with ordinary reach: nothing to act on.",
        metamorphic=True,
    ),
    case(
        "cm-praise-test",
        "test",
        "none",
        [*praise(4, reach=2500), m("Lumen's pumpkin spice latte is perfection, no notes", 1200)],
        ["praise"],
        "Praise only, some of it from larger accounts.",
        metamorphic=True,
    ),
    case(
        "cm-emoji-praise",
        "dev",
        "none",
        [
            m("☕️😍😍 @lumencoffee", 300),
            m("Lumen cold brew 🔥🔥🔥🙌", 800),
            m("🥐☕️💛 morning at Lumen", 150),
            m("✨☕️✨ best beans in Brooklyn ✨", 420),
        ],
        ["emoji", "praise"],
        "Emoji-heavy praise; 🔥 is praise here, not a fire.",
    ),
    case(
        "cm-fire-slang",
        "test",
        "none",
        [
            m("This Lumen espresso tonic is fire 🔥", 2_000),
            m("new Lumen roast is straight fire no cap", 700),
            m("Lumen's latte art is insane 😍", 350),
        ],
        ["emoji", "slang", "praise"],
        "Slang: 'fire' and 'insane' are praise.",
    ),
    case(
        "cm-neutral-questions",
        "dev",
        "none",
        [
            m("What time does Lumen open on Sundays?", 120),
            m("Does Lumen Coffee Roasters ship to Canada?", 90),
            m("Is the Lumen cold brew decaf available in stores yet?", 210),
            m("Picked up a bag of Lumen Colombia today", 60),
        ],
        ["neutral"],
        "Neutral questions and check-ins: no risk.",
    ),
    case(
        "cm-spam",
        "test",
        "none",
        [
            m("Follow me for crypto gains 🚀🚀 #lumen #coffee #bitcoin", 40),
            m("DM me for a promo code, 90% off everything!! lumen coffee", 15),
            m("Lumen is a great name for a dog lol", 80),
            m("check my bio for free followers", 10),
        ],
        ["spam", "irrelevant"],
        "Spam and irrelevant mentions: nothing about the brand's service.",
    ),
    case(
        "cm-other-lumen",
        "dev",
        "none",
        [
            m("Lumen energy drink tastes awful, like batteries. Never again.", 1_500),
            m("The Lumen desk lamp I bought broke in a week, junk", 600),
            m("Lumen Coffee Roasters' new bags look nice", 200),
        ],
        ["irrelevant"],
        "Negative posts about other products named Lumen; not ours, so none (a keyword "
        "scorer will read them as complaints).",
    ),
    case(
        "cm-neutral-volume",
        "test",
        "none",
        [
            m(f"At Lumen with {who} this morning", 100 + 20 * i)
            for i, who in enumerate(
                ["friends", "my sister", "the team", "coworkers", "my dog", "a book"]
            )
        ]
        + [m("Grabbing a Lumen cold brew before the meeting", 300)],
        ["neutral"],
        "Many neutral check-ins: volume without negativity is not a crisis.",
    ),
    # A quiet brand whose launch yesterday drew a spike of comments (fixture launch_spike,
    # ~12 comments a day before it): friendly talk about the launch is no crisis, and fewer
    # mentions than usual are no volume anomaly, whatever the analytics flagged (issue 18).
    case(
        "cm-launch-friendly",
        "test",
        "none",
        [
            m(t, 400 + 90 * i, created_at=ago(1 + 2 * i))
            for i, t in enumerate(
                [
                    "Just tried the new Ethiopia cold brew from Launch Spike, so bright and fruity",
                    "Finally got my hands on the Ethiopia cold brew, worth the hype",
                    "The launch event yesterday was so much fun, thanks team!",
                    "Ethiopia cold brew + sunny morning = perfect",
                    "Bought two bottles of the new cold brew for the weekend",
                    "Congrats on the launch, the cold brew is delicious",
                    "My coworkers are obsessed with the new cold brew already",
                    "Love the bottle design on the Ethiopia cold brew",
                ]
            )
        ],
        ["calm", "positive", "analytics-spike"],
        "Eight happy mentions (about 0.7x the usual daily volume) the day after a successful "
        "launch that spiked the brand's own comments: none, and no volume anomaly.",
        brand="Launch Spike",
        fixture="launch_spike",
        volume_anomaly=False,
    ),
    case(
        "cm-launch-friendly-dev",
        "dev",
        "none",
        [
            m(t, 250 + 60 * i, created_at=ago(2 + 3 * i))
            for i, t in enumerate(
                [
                    "Launch Spike's new cold brew is smooth and not too sweet",
                    "Saw the cold brew launch post, can't wait to try it",
                    "Is the Ethiopia cold brew available in the downtown store?",
                    "The new cold brew pairs so well with their croissants",
                    "Tried it: fruity, clean, great. Nice launch!",
                ]
            )
        ],
        ["calm", "positive", "analytics-spike"],
        "Friendly mentions and a product question after a launch spike: none.",
        brand="Launch Spike",
        fixture="launch_spike",
        volume_anomaly=False,
    ),
    case(
        "cm-praise-surge",
        "test",
        "none",
        [
            m(f"{t} (via a friend's story)", 300 + 40 * i, created_at=ago(0.5 + i))
            for i, t in enumerate(
                [
                    "Brightside's sourdough won the city bake-off, so deserved",
                    "Congrats Brightside Bakery on the award!",
                    "Brightside Bakery's cinnamon rolls are the best in town",
                    "Lined up for Brightside's award-winning sourdough this morning",
                    "Brightside Bakery made the local news, love this place",
                    "Finally tried Brightside, the hype is real",
                    "Brightside's staff were so kind even with the huge line",
                    "Best sourdough I've ever had, thank you Brightside",
                    "Brightside Bakery deserves every bit of this attention",
                    "So happy for the Brightside team",
                    "Brightside's croissants are perfect",
                    "Weekend plan: Brightside Bakery again",
                ]
            )
        ]
        + [
            m("Brightside's sourdough is great", 150, created_at=ago(24 * d + 30)) for d in range(6)
        ],
        ["calm", "positive", "volume-spike", "thin-history"],
        "Twelve happy mentions in a day against about one a day before: mention volume is "
        "far above the baseline (a volume anomaly), but praise is no crisis.",
        brand=NEW_BRAND,
        fixture="empty",
        volume_anomaly=True,
    ),
    # --- low -------------------------------------------------------------------------------
    case(
        "cm-sarcasm-single",
        "dev",
        "low",
        [m("great, another week without my delivery, love that for me", 700), *praise(3)],
        ["sarcasm"],
        "One sarcastic delivery complaint among praise: answer it individually.",
        metamorphic=True,
    ),
    case(
        "cm-sarcasm-test",
        "test",
        "low",
        [
            m(
                "Oh wonderful, my Lumen box is 'on its way' for the tenth day. Stellar service 🙃",
                900,
            ),
            m("Wow, Lumen really outdid themselves: a bag of beans that arrived empty. 10/10", 400),
            *praise(3),
        ],
        ["sarcasm", "emoji"],
        "Two sarcastic complaints (positive words, negative meaning) among praise.",
        metamorphic=True,
    ),
    case(
        "cm-late-again",
        "test",
        "low",
        [
            m("My subscription delivery is late again, third week in a row", 3_000),
            m("Lumen's holiday blend is lovely", 500),
        ],
        ["complaint", "delivery"],
        "A repeated delivery failure with decent reach: a real complaint to answer (low), "
        "not nothing. The agent was seen to rate this none.",
        metamorphic=True,
    ),
    case(
        "cm-few-complaints",
        "dev",
        "low",
        [
            m("My Lumen cold brew arrived warm and the bottle was leaking", 450),
            m("Waited 20 minutes for a flat white at Lumen on Bedford, not great", 300),
            *praise(6),
        ],
        ["complaint"],
        "Two ordinary complaints among praise: individual replies.",
        metamorphic=True,
    ),
    case(
        "cm-sick-of-waiting",
        "test",
        "low",
        [
            m("I'm sick of waiting for my Lumen order, two weeks now", 600),
            m("Lumen's app keeps logging me out, annoying", 250),
            *praise(2),
        ],
        ["complaint", "idiom"],
        "'Sick of waiting' is impatience, not illness: low, not a safety issue.",
    ),
    case(
        "cm-spanish-mixed",
        "dev",
        "low",
        [
            m("El café de Lumen llegó tarde otra vez, qué decepción. Third time this month!", 800),
            m("Me encanta el cold brew de Lumen 😍", 400),
            m("Lumen's Guatemala roast, riquísimo", 300),
        ],
        ["mixed-language", "spanish"],
        "Spanish/English: one late-delivery complaint among praise.",
        metamorphic=True,
    ),
    case(
        "cm-german-mixed",
        "test",
        "low",
        [
            m("Die Bohnen von Lumen sind super, aber shipping to Berlin took forever", 500),
            m("Lumen's Ethiopia roast ist echt der Hammer", 350),
            m("Leider kam meine Bestellung kaputt an, the bag was torn open. Schade.", 420),
        ],
        ["mixed-language", "german"],
        "German/English: slow shipping and a damaged bag, mixed with praise.",
    ),
    case(
        "cm-emoji-angry",
        "dev",
        "low",
        [
            m("😡😡😡 @lumencoffee where is my order 📦❌", 350),
            m("👎👎 Lumen app down again", 120),
            m("☕️😍", 200),
        ],
        ["emoji", "complaint"],
        "Emoji-heavy complaints, few and small: answer them.",
        metamorphic=True,
    ),
    case(
        "cm-double-charge",
        "test",
        "low",
        [
            m("Lumen's site charged me twice for one bag, is this a scam or a glitch?", 300),
            *praise(3),
        ],
        ["complaint", "fraud-word"],
        "One billing complaint using the word 'scam': care should fix it; low.",
    ),
    case(
        "cm-negated-rumour",
        "dev",
        "low",
        [
            m("Relax people, nobody got sick from Lumen, it's just coffee", 700),
            m("Lumen's espresso is still great", 300),
        ],
        ["negation"],
        "Pushback against a rumour: worth watching (low), not itself a safety claim.",
    ),
    # --- medium ----------------------------------------------------------------------------
    case(
        "cm-influencer-angry",
        "dev",
        "medium",
        [
            m(
                "Lumen Coffee Roasters is a joke. Ordered 3 weeks ago, no coffee, no reply to "
                "my emails. Never again, and I'm telling all of you to stay away.",
                450000,
                author="@brewwithbella",
            ),
            *praise(2),
        ],
        ["influencer", "high-reach"],
        "One angry influencer with 450k followers: priority reply and a statement ready; it "
        "can spread, but it is one voice for now.",
        metamorphic=True,
    ),
    case(
        "cm-sarcasm-wave",
        "test",
        "medium",
        [
            m("Love paying Lumen for coffee I never receive 🙃", 1_200),
            m("Great job Lumen, three weeks and still no delivery. Amazing.", 2_000),
            m("Oh sure Lumen, 'ships in 2 days'. Sure.", 800),
            m("Nothing like starting the day with no coffee thanks to Lumen. Fantastic.", 1_500),
            m("Wow Lumen, ignoring every support email, what a strategy", 900),
            m("Thanks Lumen for teaching me patience, still waiting on my box 👏", 1_100),
            m("Fantastic service Lumen, my order vanished into thin air", 700),
            m("Can't wait for my Lumen beans to arrive, maybe next year 🙄", 600),
        ],
        ["sarcasm", "delivery", "emoji"],
        "A pattern of sarcastic delivery complaints with real reach: medium.",
    ),
    case(
        "cm-delivery-small",
        "dev",
        "medium",
        [m(t, 400 + 150 * i) for i, t in enumerate(DELIVERY_WAVE[:8])],
        ["delivery", "complaint"],
        "Eight angry delivery complaints: a pattern, route to care and prepare a statement.",
    ),
    case(
        "cm-spanish-wave",
        "test",
        "medium",
        [
            m("Pésimo servicio de Lumen, mi pedido nunca llegó", 1_800),
            m("Nunca más compro en Lumen, el envío tardó tres semanas", 2_500),
            m("Lumen no responde los mensajes, qué mala atención", 1_200),
            m("Mi suscripción de Lumen: pagada y sin café. Terrible.", 3_000),
            m("Lumen, where is my order? Ya van dos semanas 😤", 900),
            m("Muy decepcionada con Lumen Coffee Roasters", 1_500),
        ],
        ["mixed-language", "spanish", "delivery"],
        "A Spanish-language wave of delivery complaints with reach: medium.",
    ),
    case(
        "cm-legal-single",
        "dev",
        "medium",
        [m("I'm going to sue Lumen over this, they kept charging me after I cancelled")],
        ["legal"],
        "A single legal threat (reach unknown): pass to legal, statement ready.",
    ),
    case(
        "cm-german-safety",
        "test",
        "medium",
        [
            m("Nach dem Cold Brew von Lumen war mir total schlecht, I got sick right after", 800),
            m("Lumen Kaffee ist lecker", 200),
        ],
        ["mixed-language", "german", "safety"],
        "One illness report (German/English), small reach: a single safety claim is medium.",
    ),
    case(
        "cm-recall-rumour",
        "dev",
        "medium",
        [
            m("Heard Lumen is recalling the cold brew cans?? anyone know", 3_000),
            m("Is the Lumen recall real? Should I throw mine out", 1_200),
            m("Lumen cold brew still on the shelf at my store", 300),
        ],
        ["recall", "rumour"],
        "A recall rumour: check facts with operations, statement ready.",
    ),
    case(
        "cm-exploding-can",
        "test",
        "medium",
        [
            m("A Lumen cold brew can exploded in my fridge, glad nobody was standing there", 1500),
            *praise(2),
        ],
        ["safety"],
        "One product-safety report without injury: medium.",
    ),
    case(
        "cm-phishing",
        "dev",
        "medium",
        [
            m("Got a phishing email right after ordering from Lumen, were you hacked?", 2_000),
            m("Same, weird email with my Lumen order number. Data breach?", 1_100),
            m("Lumen please confirm if customer data was leaked", 900),
        ],
        ["fraud", "data"],
        "Several customers suspect a data breach: check with security, statement ready.",
    ),
    # --- high ------------------------------------------------------------------------------
    case(
        "cm-delivery-wave",
        "dev",
        "high",
        [m(t, 300 + 250 * i, platform="instagram") for i, t in enumerate(DELIVERY_WAVE)],
        ["delivery", "wave"],
        "Twenty angry delivery complaints in a day, like the planted incident: escalate.",
        metamorphic=True,
    ),
    case(
        "cm-delivery-spike",
        "test",
        "high",
        [m(t, 500 + 200 * i, created_at=ago(1 + i)) for i, t in enumerate(DELIVERY_WAVE[:16])]
        + [
            m("Brightside's sourdough is great", 150, created_at=ago(24 * d + 30)) for d in range(6)
        ],
        ["delivery", "wave", "volume-spike", "thin-history"],
        "Sixteen complaints in 24 hours against about one mention a day before, on a brand "
        "with no analytics: a surge; escalate.",
        brand=NEW_BRAND,
        fixture="empty",
    ),
    case(
        "cm-influencer-mold",
        "test",
        "high",
        [
            m(
                "Opened a new bag of Lumen beans and found mold. Gross. Be careful, guys.",
                250000,
                author="@dailygrindreviews",
            ),
            *praise(2),
        ],
        ["influencer", "high-reach", "safety"],
        "A mold claim from a 250k account: a safety claim with huge reach; escalate.",
        metamorphic=True,
    ),
    case(
        "cm-boycott",
        "dev",
        "high",
        [
            m(f"{t} #boycottLumen", r)
            for t, r in [
                ("Lumen fired the baristas who tried to unionize. Boycott them.", 40_000),
                ("Not buying another bag from Lumen until they rehire the staff.", 6_000),
                ("Shameful move from Lumen Coffee Roasters.", 2_500),
                ("Boycott Lumen. Spread the word.", 12_000),
                ("Cancelled my Lumen subscription today.", 1_800),
                ("Lumen's statement on the firings is insulting.", 3_200),
                ("Join the boycott, find a better roaster.", 8_000),
                ("Disgusted with Lumen management.", 900),
                ("Lumen is anti-worker, plain and simple.", 5_000),
                ("Will never set foot in a Lumen cafe again.", 1_100),
            ]
        ],
        ["boycott", "wave"],
        "An organised boycott call with reach: escalate to leadership.",
    ),
    case(
        "cm-rude-staff-thread",
        "test",
        "high",
        [
            m(t, r)
            for t, r in [
                ("The Lumen barista on Court St mocked my accent. Humiliating.", 22_000),
                ("Same thing happened to me at Lumen, staff were so rude", 3_000),
                ("Lumen needs to answer for how they treat customers", 5_500),
                ("Unbelievable behaviour from Lumen staff, I'm disgusted", 1_800),
                ("Never going back to Lumen after reading this thread", 900),
                ("Lumen, this is awful. Apologize.", 2_600),
                ("Sharing so everyone knows how Lumen treats people", 14_000),
                ("Horrible. Lumen Coffee Roasters should be ashamed", 4_200),
                ("I used to love Lumen. Not anymore.", 700),
                ("This is disgraceful, Lumen", 1_300),
                ("Lumen's silence on this says everything", 6_000),
                ("Terrible treatment, shame on Lumen", 2_100),
            ]
        ],
        ["wave", "viral-thread"],
        "A viral thread of angry posts about staff behaviour (no safety terms): escalate.",
    ),
    case(
        "cm-spanish-safety-wave",
        "dev",
        "high",
        [
            m("Encontré moho en mi bolsa de café Lumen. Qué asco.", 14_000),
            m("Mi hijo se enfermó después de tomar el cold brew de Lumen", 9_000),
            m("Cuidado con el café de Lumen, tiene hongos", 22_000),
            m("Me sentí fatal después del cold brew de Lumen, vomité toda la noche", 4_000),
            m("Lumen debe retirar ese lote ya", 6_500),
            m("Moho en café sellado, inaceptable Lumen", 3_000),
            m("Lumen cold brew = intoxicación, no lo tomen", 11_000),
            m("¿Alguien más se enfermó con Lumen?", 2_500),
        ],
        ["mixed-language", "spanish", "safety", "wave"],
        "A Spanish wave of illness and mold reports with reach: at least high (a Spanish-"
        "speaking manager would call it critical).",
    ),
    # --- critical --------------------------------------------------------------------------
    case(
        "cm-safety-wave",
        "test",
        "critical",
        SAFETY_WAVE,
        ["safety", "wave", "coordinated"],
        "A coordinated wave: mold in beans, people sick, ER, FDA, lawyer, recall call.",
    ),
    case(
        "cm-safety-wave-dev",
        "dev",
        "critical",
        [
            *SAFETY_WAVE[::2],
            m(
                "Lumen's cold brew can exploded and burned my hand, there will be a class action",
                26000,
            ),
            m("Our lawyers are collecting reports of Lumen injuries, DM us", 19000),
        ],
        ["safety", "legal", "wave", "coordinated"],
        "Mold and illness reports plus injury and class-action talk, with reach.",
    ),
]


def render() -> str:
    return render_rows(CASES)


def main(argv: list[str]) -> int:
    return write_or_check(PATH, render(), argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
