"""Sentiment: VADER basics, emoji, negation, brand-safety terms, sarcasm frames, other
languages, summaries and the tool; and the service-failure complaints VADER misses."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tools.complaints import MAX_STRENGTH, complaint
from tools.sentiment import (
    MAX_TEXTS,
    Sentiment,
    analyze_sentiment,
    analyzer,
    label_of,
    score,
    score_batch,
    summarize,
)

plain_vader = SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    return score(text).compound


def test_positive_and_negative() -> None:
    good = score("Best pour-over in Brooklyn, the Kenya is amazing!")
    assert good.label == "positive"
    assert good.compound > 0.5
    assert good.positive > good.negative
    bad = score("Terrible service, the coffee was cold and the barista was rude.")
    assert bad.label == "negative"
    assert bad.compound < -0.5
    assert sum((good.positive, good.neutral, good.negative)) == pytest.approx(1, abs=0.01)


def test_label_thresholds() -> None:
    assert label_of(0.05) == "positive"
    assert label_of(0.0499) == "neutral"
    assert label_of(-0.0499) == "neutral"
    assert label_of(-0.05) == "negative"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("❤️", "positive"),  # with the variation selector plain VADER scores this 0
        ("I love this ❤️❤️", "positive"),
        ("😡", "negative"),  # plain VADER: "pouting face" has no lexicon word, 0
        ("👎", "negative"),
        ("🤮 this cold brew", "negative"),
        ("🔥🔥🔥", "positive"),  # plain VADER reads "fire": negative
        ("👍🏽", "positive"),  # skin-tone modifier stripped
        ("😇", "positive"),  # not in our table: VADER's own emoji name ("smiling ... halo")
        ("☕", "neutral"),
    ],
)
def test_emoji(text: str, label: str) -> None:
    assert score(text).label == label


def test_vader_emoji_lexicon_is_in_use() -> None:
    vader = analyzer()
    assert len(vader.emojis) > 1000
    assert vader.emojis["😇"] == "smiling face with halo"
    assert plain_vader.polarity_scores("😇")["compound"] > 0.05  # its own emoji path works
    assert plain_vader.polarity_scores("❤️")["compound"] == 0  # ... and where it fails
    assert plain_vader.polarity_scores("😡")["compound"] == 0
    assert plain_vader.polarity_scores("🔥")["compound"] < 0


def test_negation() -> None:
    assert score("The coffee is good").label == "positive"
    assert score("The coffee is not good").label == "negative"
    assert score("The coffee isn't great").label == "negative"
    assert score("Not bad at all").label == "positive"
    assert score("never disappointed by Lumen").label == "positive"
    assert score("not 🔥").compound < 0  # negation reaches emoji tokens too


@pytest.mark.parametrize(
    "text",
    [
        "Is there going to be a recall on the cold brew cans?",
        "I want a refund",
        "Lumen is being sued",
        "Lawsuit filed against the roaster",
        "Boycott Lumen",
        "Got food poisoning after the iced latte",
        "My kid got an injury from the broken cup lid",
        "There was a fire at the Astoria café",
        "This is a scam",
        "Never again.",
        "Class action incoming",
    ],
)
def test_brand_safety_terms_are_negative(text: str) -> None:
    assert score(text).label == "negative", text


def test_brand_safety_fixes_what_vader_misses() -> None:
    for text in (
        "Product recall announced",
        "I want a refund",
        "They are being sued",
        "Never again",
    ):
        assert plain_vader.polarity_scores(text)["compound"] > -0.05, text
        assert compound(text) <= -0.05, text
    assert compound("Lawsuit filed") < plain_vader.polarity_scores("Lawsuit filed")["compound"]


def test_fire_slang_is_positive() -> None:
    assert score("This latte is fire").label == "positive"
    assert score("that cold brew was straight fire").label == "positive"
    assert (
        score("fire at the roastery, everyone is safe").compound
        < score("everyone is safe").compound
    )


@pytest.mark.parametrize(
    "text",
    [
        "Great... another delay",
        "Oh great, another delay.",
        "Perfect!! more fees",
        "Love how my order is late again",
        "I love it when the app crashes at checkout",
        "Thanks for nothing",
        "Yeah right",
        "Wonderful!! another email 😡",
    ],
)
def test_sarcasm_frames(text: str) -> None:
    s = score(text)
    assert s.sarcasm, text
    assert s.label == "negative", text
    assert plain_vader.polarity_scores(text)["compound"] > -0.05  # VADER alone misses these


@pytest.mark.parametrize(
    "text",
    [
        "Great, another visit soon!",
        "Amazing, more beans from Kenya!",
        "I love how fast my order arrived",
        "I love that you never disappoint",
        "Great coffee, another visit soon",
    ],
)
def test_praise_without_a_complaint_is_not_sarcasm(text: str) -> None:
    s = score(text)
    assert not s.sarcasm, text
    assert s.label == "positive", text


@pytest.mark.parametrize(
    "text",
    [
        "这个咖啡很好",
        "مرحبا القهوة رائعة",
        "Das ist nicht gut",
        "Me encanta el café",
        "コーヒー☕️",
        "\u200b\u200d\ufe0f",
        "",
        "   ",
    ],
)
def test_other_languages_do_not_crash_and_stay_neutral(text: str) -> None:
    s = score(text)
    assert s.label == "neutral"
    assert s.compound == 0
    assert s.neutral == 1.0


def test_mixed_language_uses_what_it_knows() -> None:
    assert score("Кофе отличный 👍").label == "positive"
    assert score("Me encanta el café but the delivery was terrible 😡").label == "negative"
    assert score("Sehr gut, love it").label == "positive"


def test_batch_keeps_order() -> None:
    texts = ["love it", "hate it", "it is a cup", "😡"]
    batch = score_batch(texts)
    assert [s.label for s in batch] == ["positive", "negative", "neutral", "negative"]
    assert batch == [score(t) for t in texts]
    assert score_batch([]) == []


def test_summary_shares_and_reach_weights() -> None:
    items = score_batch(["love it", "love it", "hate it", "a cup"])
    plain = summarize(items)
    assert plain.count == 4
    assert (plain.positive_share, plain.negative_share, plain.neutral_share) == (0.5, 0.25, 0.25)
    assert plain.mean_compound == pytest.approx(sum(s.compound for s in items) / 4, abs=1e-4)
    assert not plain.weighted
    # the one angry comment was seen by far more people
    weighted = summarize(items, reach=[10, 10, 1000, 10])
    assert weighted.weighted
    assert weighted.negative_share > 0.9
    assert weighted.label == "negative"
    assert summarize(items, reach=[0, 0, 0, 0]) == plain  # no weights at all: equal weights
    with pytest.raises(ValueError, match="weights"):
        summarize(items, reach=[1, 2])
    with pytest.raises(ValueError, match="negative"):
        summarize(items, reach=[1, 2, -3, 4])
    empty = summarize([])
    assert (empty.count, empty.label, empty.mean_compound) == (0, "neutral", 0.0)


def test_summary_counts_sarcasm_and_dumps_camel_case() -> None:
    summary = summarize(score_batch(["Great... another delay", "love it"]))
    assert summary.sarcasm_count == 1
    assert {"positiveShare", "meanCompound", "sarcasmCount"} <= set(summary.model_dump())
    assert Sentiment.model_validate(score("ok").model_dump()) == score("ok")


async def test_tool() -> None:
    assert "config" not in analyze_sentiment.args
    out = await analyze_sentiment.ainvoke({"texts": ["love the new roast", "never again 😡"]})
    assert [i["label"] for i in out["items"]] == ["positive", "negative"]
    assert out["summary"]["count"] == 2
    assert out["summary"]["negativeShare"] == 0.5
    # too many texts: the model gets a message that says what to fix
    message = await analyze_sentiment.ainvoke({"texts": ["x"] * (MAX_TEXTS + 1)})
    assert isinstance(message, str)
    assert f"at most {MAX_TEXTS}" in message


# --- complaints VADER misses, sarcasm without a frame, other languages ------------------------


@pytest.mark.parametrize(
    "text",
    [
        "My subscription delivery is late again, third week in a row",
        "Paid for a subscription, got nothing for two weeks",
        "Still waiting on my box, day 12",
        "Cancelling my subscription.",
        "Lumen's site charged me twice for one bag",
        "El café llegó tarde otra vez",
        "Meine Bestellung ist nie angekommen",
        "Ma commande est en retard",
        "O pedido nunca chegou",
    ],
)
def test_service_failures_are_complaints(text: str) -> None:
    assert complaint(text).strength >= 0.3, text


@pytest.mark.parametrize(
    "text",
    [
        "Best latte in Brooklyn",
        "My order arrived early, thank you!",
        "The delivery was never late, not once",
        "No delays at all this month",
        "10/10 would recommend",
        "again and again the best roast",
        "",
    ],
)
def test_no_failure_no_complaint(text: str) -> None:
    assert complaint(text).strength == 0, text


def test_repetition_and_irony_strengthen_a_complaint() -> None:
    once = complaint("My delivery is late").strength
    again = complaint("My delivery is late again, third week in a row").strength
    ironic = complaint("My delivery is late again. Stellar service 🙃")
    assert 0 < once < again
    assert ironic.ironic
    assert ironic.strength > once
    assert complaint("late " * 50 + "again 🙃 10/10").strength <= MAX_STRENGTH


@pytest.mark.parametrize(
    "text",
    [
        "Wow, Lumen really outdid themselves: a bag of beans that arrived empty. 10/10",
        "Oh wonderful, my box is 'on its way' for the tenth day. Stellar service 🙃",
        "Love paying for coffee I never receive 🙃",
        "great, another week without my delivery, love that for me",
    ],
)
def test_praise_around_a_failure_reads_as_sarcasm(text: str) -> None:
    s = score(text)
    assert s.sarcasm, text
    assert s.label == "negative", text


@pytest.mark.parametrize(
    "text",
    [
        "El café de Lumen llegó tarde otra vez, qué decepción",
        "Pésimo servicio, mi pedido nunca llegó",
        "Total enttäuscht, die Bohnen kamen kaputt an",
        "Service nul, très déçue",
        "Atendimento horrível, nunca mais",
    ],
)
def test_basic_foreign_complaints_are_negative(text: str) -> None:
    assert score(text).label == "negative", text


def test_obsessed_with_a_product_is_praise() -> None:
    """Issue 18: a friendly launch batch read as low risk because VADER scores "obsessed"
    negative; on social media it is praise."""
    from tools.sentiment import score

    assert score("My coworkers are obsessed with the new cold brew already").label == "positive"
