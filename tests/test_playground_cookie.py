"""The LangServe playground from a signed-in console: the cookie, its scope, and CSRF."""

from __future__ import annotations

from api_support import add_member, api_client, assert_error_shape, bearer, register

from chorus.settings import Settings

SCHEDULE = {"input": {"input": {"platform": "instagram", "count": 1}}}
SAME = {"origin": "http://test"}


async def test_a_signed_in_console_opens_and_runs_the_playground(settings: Settings) -> None:
    async with api_client(settings) as (_, client):
        reg = await register(client, "play@example.com")
        assert (await client.get("/graphs/scheduler/playground/")).status_code == 401

        issued = await client.post(
            "/api/auth/playground-session", headers=bearer(reg["accessToken"])
        )
        assert issued.status_code == 200, issued.text
        assert issued.json()["path"] == "/graphs"
        cookie = issued.headers["set-cookie"].lower()
        for attribute in ("httponly", "samesite=strict", "path=/graphs", "max-age="):
            assert attribute in cookie
        assert reg["accessToken"] not in issued.text  # in the cookie only, never in the body

        page = await client.get("/graphs/scheduler/playground/")
        assert page.status_code == 200, page.text
        assert "<html" in page.text.lower()
        # The cookie is for the graph routes only: the rest of the API still wants a header.
        assert_error_shape(await client.get("/api/users/me"), 401)

        ran = await client.post("/graphs/scheduler/invoke", json=SCHEDULE, headers=SAME)
        assert ran.status_code == 200, ran.text
        assert ran.json()["output"]["output"]

        # Bad input is the usual 422 naming the field, cookie or not.
        bad = await client.post(
            "/graphs/scheduler/invoke", json={"input": {"input": {}}}, headers=SAME
        )
        assert bad.status_code == 422, bad.text

        # Signing out ends the cookie too (the session it carries, and the cookie itself).
        out = await client.post("/api/auth/logout", headers=bearer(reg["accessToken"]))
        assert out.status_code == 204
        assert "chorus_playground=" in out.headers["set-cookie"]
        assert (await client.get("/graphs/scheduler/playground/")).status_code == 401


async def test_writes_carried_by_the_cookie_must_come_from_this_site(settings: Settings) -> None:
    async with api_client(settings) as (_, client):
        reg = await register(client, "csrf@example.com")
        await client.post("/api/auth/playground-session", headers=bearer(reg["accessToken"]))
        for headers in (
            {"origin": "https://evil.example"},
            {"referer": "https://evil.example/page"},
            {},
        ):
            refused = await client.post("/graphs/scheduler/invoke", json=SCHEDULE, headers=headers)
            error = assert_error_shape(refused, 403)
            assert error["code"] == "csrf"
        from_here = await client.post(
            "/graphs/scheduler/invoke",
            json=SCHEDULE,
            headers={"referer": "http://test/graphs/scheduler/playground/"},
        )
        assert from_here.status_code == 200, from_here.text


async def test_a_viewers_cookie_reads_but_cannot_run_and_keys_get_no_cookie(
    settings: Settings,
) -> None:
    async with api_client(settings) as (app, client):
        reg = await register(client, "own@example.com")
        viewer = await add_member(app, client, reg["organization"]["id"], "v@example.com", "viewer")
        await client.post("/api/auth/playground-session", headers=bearer(viewer))
        refused = await client.post("/graphs/scheduler/invoke", json=SCHEDULE, headers=SAME)
        assert_error_shape(refused, 403)

        key = await client.post(
            "/api/api-keys", json={"name": "k"}, headers=bearer(reg["accessToken"])
        )
        no_cookie = await client.post(
            "/api/auth/playground-session", headers={"x-api-key": key.json()["key"]}
        )
        assert_error_shape(no_cookie, 403)
        assert "set-cookie" not in no_cookie.headers


async def test_the_cookie_runs_in_its_own_organization_only(settings: Settings) -> None:
    async with api_client(settings) as (_, client):
        mine = await register(client, "a@example.com", org="A")
        theirs = await register(client, "b@example.com", org="B")
        config = {"configurable": {"thread_id": "shared-name"}}
        body = {"input": {"messages": [{"role": "user", "content": "hello"}]}, "config": config}
        await client.post("/api/auth/playground-session", headers=bearer(theirs["accessToken"]))
        ran = await client.post("/graphs/console/invoke", json=body, headers=SAME)
        assert ran.status_code == 200, ran.text
        # A's thread of the same name is A's: B's playground run left nothing there.
        state = await client.get(
            "/lg/threads/shared-name/state", headers=bearer(mine["accessToken"])
        )
        assert state.status_code == 404, state.text
