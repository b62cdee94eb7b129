"""content_creator: persona and prompts. The model writes the post text only; hashtags, the
call to action and every rule check are added in code."""

from __future__ import annotations

from collections.abc import Sequence

from agents.base import Persona

PERSONA = Persona(
    role="Content Creator",
    goal="Create engaging, platform-optimized social media content.",
    backstory=(
        "You are an expert content creator with deep understanding of social media trends, "
        "audience psychology, and platform algorithms. You create content that drives "
        "engagement and achieves business objectives."
    ),
)

PLATFORM_NAMES = {
    "twitter": "X (Twitter)",
    "linkedin": "LinkedIn",
    "instagram": "Instagram",
    "facebook": "Facebook",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "bluesky": "Bluesky",
    "sandbox": "a social network",
}

# How the post should read on each platform; a hint for the model, not a rule.
PLATFORM_STYLE = {
    "twitter": "short and punchy, one or two sentences",
    "linkedin": "professional and insightful, a few short paragraphs",
    "instagram": "warm and visual, a short caption",
    "facebook": "friendly and conversational, a few sentences",
    "tiktok": "energetic and casual, one or two lines",
    "youtube": "a short video description",
    "bluesky": "conversational and direct, one or two sentences",
    "sandbox": "clear and friendly, a few sentences",
}

# The field labels of the prompts below: a reply that repeats one has echoed the prompt, and
# a line holding one is dropped (``parse_post``).
ECHO_LABELS = (
    "Brief:",
    "Audience:",
    "Tone:",
    "Industry:",
    "Brand voice:",
    "Past posts",
    "Reviewer feedback:",
    "Previous draft:",
    "Rejected draft:",
    "Problems:",
    "Why it was rejected:",
    "Write a new post about the brief",
    "Length:",
    "Style:",
    "call to action:",
    "Never use these words",
    "Write the post",
    "breaks the platform",
    "post text only",
    "answers the feedback",
)
# Labels that introduce the post itself ("Post: <text>", as the repair prompt shows it): the
# label is stripped from the start of a line and the text after it kept. Every label the
# prompts below use is in one of the two tuples (a test checks it), so none reaches a post.
TEXT_LABELS = (
    "Post:",
    "Draft:",
    "Text:",
    "Caption:",
    "Revised post:",
    "Revised draft:",
    "Corrected post:",
    "Fixed post:",
    "New post:",
    "Rewritten post:",
    "Final post:",
)

RULES = (
    "Reply with the post text only: no hashtags, no title, no quotation marks, no notes. "
    "Write real words, never placeholders such as [Brand Name] or {product}."
)


def system_prompt(platform: str, banned_terms: Sequence[str], extra: str | None = None) -> str:
    lines = [f"Write one social media post for {PLATFORM_NAMES.get(platform, platform)}.", RULES]
    if banned_terms:
        lines.append("Never use these words: " + ", ".join(banned_terms) + ".")
    if extra:
        lines.append(extra)  # the organization's own instructions for this agent
    return PERSONA.system_prompt("\n".join(lines))


def draft_prompt(
    *,
    brief: str,
    platform: str,
    max_chars: int,
    audience: str | None = None,
    tone: str | None = None,
    industry: str | None = None,
    call_to_action: str | None = None,
    brand_voice: Sequence[str] = (),
    past_posts: Sequence[str] = (),
    feedback: str | None = None,
    previous_draft: str | None = None,
) -> str:
    lines = [f"Brief: {brief}"]
    if audience:
        lines.append(f"Audience: {audience}")
    if tone:
        lines.append(f"Tone: {tone}")
    if industry:
        lines.append(f"Industry: {industry}")
    lines.append(f"Style: {PLATFORM_STYLE.get(platform, PLATFORM_STYLE['sandbox'])}.")
    lines.append(f"Length: at most {max_chars} characters.")
    if call_to_action:
        lines.append(f"The post will end with this call to action: {call_to_action}")
    if brand_voice:
        lines.append("Brand voice:\n" + "\n".join(f"- {v}" for v in brand_voice))
    if past_posts:
        lines.append("Past posts of ours that worked:\n" + "\n".join(f"- {p}" for p in past_posts))
    if previous_draft:
        lines.append(f"Previous draft: {previous_draft}")
    if feedback:
        lines.append(f"Reviewer feedback: {feedback}")
        lines.append("Rewrite the post so that it answers the feedback.")
    lines.append("Write the post now.")
    return "\n".join(lines)


def repair_prompt(text: str, problems: Sequence[str], max_chars: int) -> str:
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        f"This post breaks the platform's rules.\nPost: {text}\nProblems:\n{listed}\n"
        f"Length: the text must stay under {max_chars} characters (hashtags are added "
        "separately).\nReply with the corrected post text only."
    )


def revision_retry_prompt(
    *,
    brief: str,
    previous_draft: str,
    feedback: str,
    max_chars: int,
    call_to_action: str | None = None,
) -> str:
    """Asked once when a revision came back the same as the draft the reviewer rejected."""
    lines = [
        f"Rejected draft: {previous_draft}",
        f"Reviewer feedback: {feedback}",
        f"Brief: {brief}",
        "The reviewer rejected the draft above. Your last answer repeated it word for word. "
        "Write a new post with different wording that does exactly what the feedback asks.",
        f"Length: at most {max_chars} characters.",
    ]
    if call_to_action:
        lines.append(f"The post will end with this call to action: {call_to_action}")
    lines.append("Reply with the new post text only.")
    return "\n".join(lines)


def regenerate_prompt(
    *,
    brief: str,
    rejected: str,
    problems: Sequence[str],
    max_chars: int,
    call_to_action: str | None = None,
    feedback: str | None = None,
) -> str:
    """Asked once when a draft failed the quality gate: the reasons, then the brief again."""
    listed = "\n".join(f"- {p}" for p in problems)
    lines = [
        f"Rejected draft: {rejected}",
        f"Why it was rejected:\n{listed}",
        f"Brief: {brief}",
    ]
    if feedback:
        lines.append(f"Reviewer feedback: {feedback}")
    lines.append("Write a new post about the brief, as the brand (we, our), in plain sentences.")
    lines.append(f"Length: at most {max_chars} characters.")
    if call_to_action:
        lines.append(f"The post will end with this call to action: {call_to_action}")
    lines.append("Reply with the new post text only.")
    return "\n".join(lines)
