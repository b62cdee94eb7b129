"""The control API under ``/_sandbox``: what tests and demos use to set the scene.

* ``POST /_sandbox/reset`` - every network back to its default seed, faults and files cleared.
* ``GET|POST /_sandbox/{network}/users`` - list or add users (people, Pages, organizations,
  channels: ``{"id", "username", "name", "followers", "kind", "owner", "extra"}``).
* ``GET /_sandbox/{network}/posts`` - every post (deleted ones flagged) and ``created``:
  how many posts each account created, deletes included.
* ``POST /_sandbox/{network}/mentions`` - someone mentions or comments on the account
  (``{"account", "text", "author": {...}, "parent"}``).
* ``POST /_sandbox/{network}/metrics`` - add to a post's counters (``{"post_id",
  "metrics": {name: delta}}``, names as the network calls them).
* ``POST /_sandbox/{network}/tokens/expire|revoke`` - by ``user`` or ``token``; expire takes
  ``"refresh": true`` to expire refresh tokens too.
* ``POST /_sandbox/{network}/clients`` - register an OAuth client (``client_id``,
  ``client_secret``).
* ``GET|POST|DELETE /_sandbox/faults`` - list, add (see ``sandbox.core.Fault``), clear.
* ``PUT|GET /_sandbox/files/{name}`` - public files, for networks that fetch media by URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.core import Fault, SandboxUser

if TYPE_CHECKING:  # the app imports this module to build its routes
    from sandbox.app import Sandbox

__all__ = ["routes"]


def _network(sandbox: Sandbox, request: Request) -> str | Response:
    name = request.path_params["network"]
    if name not in sandbox.mounted:
        return JSONResponse(
            {"error": f"unknown network {name!r}", "networks": list(sandbox.mounted)},
            status_code=404,
        )
    return name


def routes(sandbox: Sandbox) -> list[Route]:
    async def index(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"networks": {n: f"{base}/{n}" for n in sandbox.mounted}})

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return JSONResponse({"reset": True})

    async def users(request: Request) -> Response:
        name = _network(sandbox, request)
        if isinstance(name, Response):
            return name
        state = sandbox.state(name)
        if request.method == "POST":
            body: dict[str, Any] = await request.json()
            user = SandboxUser(
                id=str(body.get("id") or state.next_id()),
                username=str(body["username"]),
                name=str(body.get("name") or body["username"]),
                avatar_url=str(body.get("avatar_url", "")),
                followers=int(body.get("followers", 0)),
                following=int(body.get("following", 0)),
                kind=str(body.get("kind", "user")),
                owner=body.get("owner"),
                password=body.get("password"),
                extra=dict(body.get("extra") or {}),
            )
            seed = getattr(sandbox.module(name), "seed_user", None)
            if seed is not None:
                seed(state, user)
            else:
                state.add_user(user)
            return JSONResponse(_user(user), status_code=201)
        return JSONResponse({"users": [_user(u) for u in state.users.values()]})

    async def posts(request: Request) -> Response:
        name = _network(sandbox, request)
        if isinstance(name, Response):
            return name
        state = sandbox.state(name)
        return JSONResponse(
            {
                "posts": [p.public() for p in state.posts.values()],
                "created": dict(state.created),
            }
        )

    async def mentions(request: Request) -> Response:
        name = _network(sandbox, request)
        if isinstance(name, Response):
            return name
        seed = getattr(sandbox.module(name), "seed_mention", None)
        if seed is None:
            return JSONResponse({"error": f"{name} has no mentions or comments"}, status_code=404)
        post = seed(sandbox.state(name), await request.json())
        return JSONResponse(post.public(), status_code=201)

    async def metrics(request: Request) -> Response:
        name = _network(sandbox, request)
        if isinstance(name, Response):
            return name
        body = await request.json()
        post = sandbox.state(name).posts.get(str(body["post_id"]))
        if post is None:
            return JSONResponse({"error": "no such post"}, status_code=404)
        for key, delta in (body.get("metrics") or {}).items():
            post.metrics[key] += int(delta)
        return JSONResponse(post.public())

    async def tokens(request: Request) -> Response:
        name = _network(sandbox, request)
        if isinstance(name, Response):
            return name
        body = await request.json()
        oauth = sandbox.state(name).oauth
        user, token = body.get("user"), body.get("token")
        action = request.path_params["action"]
        if action == "expire":
            count = oauth.expire(user=user, token=token, refresh=bool(body.get("refresh")))
        elif action == "revoke":
            count = oauth.revoke_all(user=user, token=token)
        else:
            return JSONResponse({"error": "action is expire or revoke"}, status_code=404)
        return JSONResponse({"tokens": count})

    async def clients(request: Request) -> Response:
        name = _network(sandbox, request)
        if isinstance(name, Response):
            return name
        body = await request.json()
        sandbox.state(name).oauth.clients[str(body["client_id"])] = str(body["client_secret"])
        return JSONResponse({"client_id": body["client_id"]}, status_code=201)

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            if body.get("network") not in sandbox.mounted:
                return JSONResponse({"error": "unknown network"}, status_code=404)
            fault = sandbox.faults.add(Fault(**body))
            return JSONResponse(vars(fault), status_code=201)
        if request.method == "DELETE":
            sandbox.faults.clear()
        return JSONResponse({"faults": [vars(f) for f in sandbox.faults.faults]})

    async def files(request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "PUT":
            sandbox.files[name] = (
                await request.body(),
                request.headers.get("content-type", "application/octet-stream"),
            )
            return JSONResponse({"url": str(request.url)}, status_code=201)
        if name not in sandbox.files:
            return Response("not found", status_code=404)
        data, content_type = sandbox.files[name]
        return Response(data, media_type=content_type)

    return [
        Route("/_sandbox", index),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/files/{name}", files, methods=["GET", "PUT"]),
        Route("/_sandbox/{network}/users", users, methods=["GET", "POST"]),
        Route("/_sandbox/{network}/posts", posts),
        Route("/_sandbox/{network}/mentions", mentions, methods=["POST"]),
        Route("/_sandbox/{network}/metrics", metrics, methods=["POST"]),
        Route("/_sandbox/{network}/tokens/{action:str}", tokens, methods=["POST"]),
        Route("/_sandbox/{network}/clients", clients, methods=["POST"]),
    ]


def _user(user: SandboxUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "followers": user.followers,
        "following": user.following,
        "kind": user.kind,
        "owner": user.owner,
        "extra": user.extra,
    }
