"""The console's vendored Markdown renderer and sanitizer are served from this origin (the
page's CSP allows no CDN) and loaded before the console's own script."""

from __future__ import annotations

from api_support import api_client

from chorus.settings import Settings


async def test_the_markdown_renderer_and_sanitizer_are_served_before_the_console(
    settings: Settings,
) -> None:
    async with api_client(settings) as (_, client):
        page = (await client.get("/console")).text
        marked = page.index('src="/console/static/vendor/marked.min.js"')
        purify = page.index('src="/console/static/vendor/purify.min.js"')
        assert marked < purify < page.index('src="/console/static/console.js"')
        for name, banner in (("marked.min.js", "marked v15"), ("purify.min.js", "DOMPurify")):
            served = await client.get(f"/console/static/vendor/{name}")
            assert served.status_code == 200
            assert "javascript" in served.headers["content-type"]
            assert banner in served.text[:300]
        script = (await client.get("/console/static/console.js")).text
        # Answers go through both; raw HTML in an answer is escaped, not rendered.
        assert "DOMPurify.sanitize(marked.parse(" in script
        assert "html: (token) => escapeHtml(token.text)" in script
