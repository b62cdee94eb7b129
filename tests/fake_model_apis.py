"""Local HTTP servers that speak the OpenAI and Anthropic wire formats, for the real clients.

They answer what the documented APIs answer (chat completions with usage, streamed as SSE
chunks; embeddings; Anthropic messages), deterministically, and record each request so tests
can see what the clients sent.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from PIL import Image


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _vector(text: str, dims: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 255 for b in digest[:dims]]


# What a structured-output request (an LLM judge's, say) gets unless the test says otherwise.
DEFAULT_STRUCTURED: dict[str, Any] = {
    "reasoning": "Clear and on brand. Thus, the score should be: 0.75.",
    "score": 0.75,
}


def _structured_message(body: dict[str, Any], structured: dict[str, Any]) -> dict[str, Any] | None:
    """The assistant message for a structured-output request, as the API answers it: the JSON
    as content for a ``json_schema`` response format, a call of the forced tool otherwise."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") in ("json_schema", "json_object"):
        return {"role": "assistant", "content": json.dumps(structured)}
    choice = body.get("tool_choice")
    if body.get("tools") and choice not in (None, "none", "auto"):
        name = (
            choice["function"]["name"]
            if isinstance(choice, dict)
            else body["tools"][0]["function"]["name"]
        )
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(structured)},
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return None


def _completion(
    model: str, message: dict[str, Any], finish: str, *, completion_tokens: int
) -> dict[str, Any]:
    """A non-streamed chat.completion with one choice, as the OpenAI API answers it."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 11,
            "completion_tokens": completion_tokens,
            "total_tokens": 11 + completion_tokens,
        },
    }


# A prompt containing this is refused as the Images API refuses one its safety system rejects.
REFUSED_PROMPT = "REFUSE-ME"


def image_color(prompt: str) -> tuple[int, int, int]:
    """The flat colour the fake paints for ``prompt`` (tests compare it)."""
    digest = hashlib.sha256(prompt.encode()).digest()
    return (digest[0], digest[1], digest[2])


def _image_generation(body: dict[str, Any]) -> JSONResponse | dict[str, Any]:
    """``POST /v1/images/generations`` as documented: ``data[].b64_json`` (gpt-image-1 always,
    DALL·E when ``response_format`` is b64_json), ``usage`` for gpt-image-1 only."""
    if REFUSED_PROMPT in body.get("prompt", ""):
        return JSONResponse(
            {
                "error": {
                    "message": "Your request was rejected as a result of our safety system.",
                    "type": "image_generation_user_error",
                    "param": None,
                    "code": "content_policy_violation",
                }
            },
            status_code=400,
        )
    width, height = (int(v) for v in body.get("size", "1024x1024").split("x"))
    out = io.BytesIO()
    Image.new("RGB", (width, height), image_color(body["prompt"])).save(out, "PNG")
    item: dict[str, Any] = {"b64_json": base64.b64encode(out.getvalue()).decode()}
    answer: dict[str, Any] = {"created": int(time.time()), "data": [item]}
    if body.get("model", "").startswith("dall-e"):
        item["revised_prompt"] = body["prompt"]
    else:
        answer["usage"] = {
            "input_tokens": 50,
            "output_tokens": 4160,
            "total_tokens": 4210,
            "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
        }
    return answer


def _tool_call_message(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def build_app(
    reply: str,
    requests: list[dict[str, Any]],
    structured: dict[str, Any] | None = None,
    tool_call: str | None = None,
) -> FastAPI:
    """``tool_call``: the tool a request that offers tools (tool choice "auto") is answered
    with, its arguments ``structured``, as a model that decides to call it would."""
    app = FastAPI()
    structured = structured if structured is not None else DEFAULT_STRUCTURED

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await request.json()
        requests.append({"path": "chat", "auth": request.headers.get("authorization"), **body})
        message = _structured_message(body, structured)
        offered = {t["function"]["name"] for t in body.get("tools") or []}
        if message is None and tool_call in offered:
            message = _tool_call_message(tool_call, structured)
        if message is not None and not body.get("stream"):
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            return _completion(body["model"], message, finish, completion_tokens=9)
        words = reply.split(" ")
        usage = {
            "prompt_tokens": 11,
            "completion_tokens": len(words),
            "total_tokens": 11 + len(words),
        }
        if not body.get("stream"):
            message = {"role": "assistant", "content": reply}
            return _completion(body["model"], message, "stop", completion_tokens=len(words))

        def events() -> Iterator[str]:
            base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": body["model"]}
            for i, word in enumerate(words):
                piece = word if i == 0 else f" {word}"
                delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                yield f"data: {json.dumps(base | {'choices': [delta]})}\n\n"
            done = {"index": 0, "delta": {}, "finish_reason": "stop"}
            yield f"data: {json.dumps(base | {'choices': [done]})}\n\n"
            yield f"data: {json.dumps(base | {'choices': [], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/images/generations")
    async def images(request: Request) -> Any:
        body = await request.json()
        requests.append({"path": "images", "auth": request.headers.get("authorization"), **body})
        return _image_generation(body)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Any:
        body = await request.json()
        requests.append({"path": "embeddings", **body})
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(str(text))}
            for i, text in enumerate(inputs)
        ]
        return {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        }

    @app.post("/v1/messages")
    async def messages(request: Request) -> Any:
        body = await request.json()
        requests.append(
            {
                "path": "messages",
                "key": request.headers.get("x-api-key"),
                "auth": request.headers.get("authorization"),
                **body,
            }
        )
        if body.get("stream"):
            return JSONResponse(
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "message": "streaming not served here",
                    },
                },
                status_code=400,
            )
        content: list[dict[str, Any]] = [{"type": "text", "text": reply}]
        stop = "end_turn"
        choice = body.get("tool_choice") or {}
        if body.get("tools") and choice.get("type") in ("tool", "any"):
            # A forced tool (what with_structured_output asks for): the API answers with a
            # tool_use block whose input is the structured answer.
            name = choice.get("name") or body["tools"][0]["name"]
            content = [{"type": "tool_use", "id": "toolu_1", "name": name, "input": structured}]
            stop = "tool_use"
        return {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 13, "output_tokens": len(reply.split())},
        }

    return app


@contextmanager
def serve(
    reply: str = "Fresh roast, fresh start.",
    structured: dict[str, Any] | None = None,
    tool_call: str | None = None,
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A running model API on loopback: (base URL, the requests it received). Structured-output
    requests are answered with ``structured`` (default ``DEFAULT_STRUCTURED``); a request
    offering the tool ``tool_call`` gets a call of it with those arguments."""
    requests: list[dict[str, Any]] = []
    with serve_app(build_app(reply, requests, structured, tool_call)) as base:
        yield base, requests


def build_langsmith_app(received: list[bytes]) -> FastAPI:
    """Just enough of LangSmith's ingestion API to accept traces and keep their bytes."""
    app = FastAPI()

    @app.get("/info")
    async def info() -> dict[str, Any]:
        return {"version": "0.0-test"}

    @app.api_route("/runs{rest:path}", methods=["POST", "PATCH"])
    async def runs(request: Request, rest: str) -> JSONResponse:
        received.append(await request.body())
        return JSONResponse({}, status_code=202)

    return app


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Any ASGI app on a free loopback port, for as long as the block runs."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
