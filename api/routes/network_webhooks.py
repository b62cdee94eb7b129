"""``/api/webhooks/<network>``: what Facebook, Instagram, X, LinkedIn, TikTok and YouTube tell
us about the accounts connected here.

No principal: each network's own mechanism is the credential, checked before the body is
read (``services.network_webhooks.verify``): a GET handshake where the network has one, and a
signature on every POST (401 if it does not match; 409 ``webhook_not_configured`` when this
server has no secret for that network). Verified bodies are stored once per organization
that has the account connected (200 with counts, duplicates included: the networks deliver
at least once).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import Field

from api.deps import RuntimeDep, rate_limited_by_ip
from api.errors import ApiError
from api.ports import AppRuntime
from api.responses import errors
from api.routes.schemas import ApiModel
from services.network_webhooks import inbox, parse, verify

router = APIRouter(
    prefix="/api/webhooks",
    tags=["network webhooks"],
    dependencies=[Depends(rate_limited_by_ip("webhooks", 600, 60))],
    responses=errors(429),
)

SIGNED = errors(400, 401, 409)


class ReceiptOut(ApiModel):
    received: int = Field(description="Activities in the body.")
    stored: int = Field(description="Newly stored, per organization concerned.")
    duplicates: int = Field(description="Delivered before and already stored.")
    unmatched: int = Field(description="For accounts not connected here (ignored).")


class CrcOut(ApiModel):
    response_token: str


class LinkedInChallengeOut(ApiModel):
    challenge_code: str
    challenge_response: str


def _secret(value: str | None, network: str) -> str:
    if not value:
        raise ApiError(
            409, f"{network} webhooks are not configured here", code="webhook_not_configured"
        )
    return value


def _refuse(network: str) -> ApiError:
    return ApiError(401, f"the {network} signature does not match", code="invalid_signature")


async def _store(runtime: AppRuntime, network: str, body: bytes) -> ReceiptOut:
    try:
        activities = parse.PARSERS[network](body)
    except parse.UnreadableBody as exc:
        raise ApiError(400, f"unreadable {network} webhook: {exc}", code="bad_webhook") from exc
    receipt = await inbox.receive(runtime.db, runtime.events, network, activities)
    return ReceiptOut(
        received=receipt.received,
        stored=receipt.stored,
        duplicates=receipt.duplicates,
        unmatched=receipt.unmatched,
    )


# --- Meta: Facebook and Instagram --------------------------------------------------------


async def _meta_verify(
    runtime: AppRuntime, mode: str | None, token: str | None, challenge: str
) -> PlainTextResponse:
    expected = _secret(runtime.network_webhook_secrets.meta_verify_token, "Meta")
    if not verify.meta_challenge(expected, mode, token):
        raise ApiError(403, "the verify token does not match", code="invalid_verify_token")
    return PlainTextResponse(challenge)


async def _meta_post(
    runtime: AppRuntime, network: str, request: Request, signature: str | None
) -> ReceiptOut:
    secret = _secret(runtime.network_webhook_secrets.meta_app_secret, "Meta")
    body = await request.body()
    if not verify.meta_signature_ok(secret, body, signature):
        raise _refuse("X-Hub-Signature-256")
    return await _store(runtime, network, body)


MetaMode = Annotated[str | None, Query(alias="hub.mode", max_length=20)]
MetaToken = Annotated[str | None, Query(alias="hub.verify_token", max_length=500)]
Challenge = Annotated[str, Query(alias="hub.challenge", min_length=1, max_length=500)]
MetaSignature = Annotated[str | None, Header(alias="X-Hub-Signature-256")]
TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "The challenge"}


@router.get(
    "/facebook",
    response_class=PlainTextResponse,
    responses={200: TEXT, **errors(403, 409, 422)},
)
async def facebook_verify(
    runtime: RuntimeDep, challenge: Challenge, mode: MetaMode = None, token: MetaToken = None
) -> PlainTextResponse:
    """Meta's subscription handshake: echo ``hub.challenge`` if the verify token is ours."""
    return await _meta_verify(runtime, mode, token, challenge)


@router.post("/facebook", response_model=ReceiptOut, responses=SIGNED)
async def facebook(
    request: Request, runtime: RuntimeDep, signature: MetaSignature = None
) -> ReceiptOut:
    return await _meta_post(runtime, "facebook", request, signature)


@router.get(
    "/instagram",
    response_class=PlainTextResponse,
    responses={200: TEXT, **errors(403, 409, 422)},
)
async def instagram_verify(
    runtime: RuntimeDep, challenge: Challenge, mode: MetaMode = None, token: MetaToken = None
) -> PlainTextResponse:
    return await _meta_verify(runtime, mode, token, challenge)


@router.post("/instagram", response_model=ReceiptOut, responses=SIGNED)
async def instagram(
    request: Request, runtime: RuntimeDep, signature: MetaSignature = None
) -> ReceiptOut:
    return await _meta_post(runtime, "instagram", request, signature)


# --- X -----------------------------------------------------------------------------------


@router.get("/twitter", response_model=CrcOut, responses=errors(409, 422))
async def twitter_crc(
    runtime: RuntimeDep, crc_token: Annotated[str, Query(min_length=1, max_length=500)]
) -> CrcOut:
    """X's challenge-response check (at registration and hourly)."""
    secret = _secret(runtime.network_webhook_secrets.x_consumer_secret, "X")
    return CrcOut(response_token=verify.x_crc_response(secret, crc_token))


@router.post("/twitter", response_model=ReceiptOut, responses=SIGNED)
async def twitter(
    request: Request,
    runtime: RuntimeDep,
    signature: Annotated[str | None, Header(alias="x-twitter-webhooks-signature")] = None,
) -> ReceiptOut:
    secret = _secret(runtime.network_webhook_secrets.x_consumer_secret, "X")
    body = await request.body()
    if not verify.x_signature_ok(secret, body, signature):
        raise _refuse("x-twitter-webhooks-signature")
    return await _store(runtime, "twitter", body)


# --- LinkedIn ----------------------------------------------------------------------------


@router.get("/linkedin", response_model=LinkedInChallengeOut, responses=errors(409, 422))
async def linkedin_validate(
    runtime: RuntimeDep,
    challenge_code: Annotated[str, Query(alias="challengeCode", min_length=1, max_length=500)],
) -> LinkedInChallengeOut:
    """LinkedIn's endpoint validation."""
    secret = _secret(runtime.network_webhook_secrets.linkedin_client_secret, "LinkedIn")
    return LinkedInChallengeOut(
        challenge_code=challenge_code,
        challenge_response=verify.linkedin_challenge(secret, challenge_code),
    )


@router.post("/linkedin", response_model=ReceiptOut, responses=SIGNED)
async def linkedin(
    request: Request,
    runtime: RuntimeDep,
    signature: Annotated[str | None, Header(alias="X-LI-Signature")] = None,
) -> ReceiptOut:
    secret = _secret(runtime.network_webhook_secrets.linkedin_client_secret, "LinkedIn")
    body = await request.body()
    if not verify.linkedin_signature_ok(secret, body, signature):
        raise _refuse("X-LI-Signature")
    return await _store(runtime, "linkedin", body)


# --- TikTok ------------------------------------------------------------------------------


@router.post("/tiktok", response_model=ReceiptOut, responses=SIGNED)
async def tiktok(
    request: Request,
    runtime: RuntimeDep,
    signature: Annotated[str | None, Header(alias="TikTok-Signature")] = None,
) -> ReceiptOut:
    secret = _secret(runtime.network_webhook_secrets.tiktok_client_secret, "TikTok")
    body = await request.body()
    if not verify.tiktok_signature_ok(secret, body, signature, time.time()):
        raise _refuse("TikTok-Signature")
    return await _store(runtime, "tiktok", body)


# --- YouTube (WebSub) --------------------------------------------------------------------


@router.get(
    "/youtube",
    response_class=PlainTextResponse,
    responses={200: TEXT, **errors(404, 409, 422)},
)
async def youtube_verify(
    runtime: RuntimeDep,
    challenge: Challenge,
    mode: Annotated[str, Query(alias="hub.mode", pattern="^(subscribe|unsubscribe)$")],
    topic: Annotated[str, Query(alias="hub.topic", max_length=500)],
) -> PlainTextResponse:
    """The hub's intent verification: echo ``hub.challenge`` for a YouTube channel feed."""
    _secret(runtime.network_webhook_secrets.youtube_hub_secret, "YouTube")
    if not verify.youtube_topic_ok(topic):
        raise ApiError(404, "not a topic this server subscribes to", code="unknown_topic")
    return PlainTextResponse(challenge)


@router.post("/youtube", response_model=ReceiptOut, responses=SIGNED)
async def youtube(
    request: Request,
    runtime: RuntimeDep,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature")] = None,
) -> ReceiptOut:
    secret = _secret(runtime.network_webhook_secrets.youtube_hub_secret, "YouTube")
    body = await request.body()
    if not verify.youtube_signature_ok(secret, body, signature):
        raise _refuse("X-Hub-Signature")
    return await _store(runtime, "youtube", body)
