"""LangSmith tracing: with it configured, each agent run reaches LangSmith's API as a named run
carrying the tenant, agent, workflow and thread, so prompt engineers can filter by them.

The run happens in a child process: LangSmith reads and caches its settings per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from fake_model_apis import build_langsmith_app, serve_app

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, "tests")
    from support import make_settings, run_context
    from langchain_core.tracers.langchain import wait_for_all_tracers
    from agents.trend_analyzer import trend_analyzer
    from chorus.runtime import Runtime
    from persistence.admin import OrganizationAdmin

    async def main():
        settings = make_settings(
            __import__("pathlib").Path(sys.argv[1]),
            langsmith_tracing=True,
            langsmith_api_key="ls-test",
            langsmith_endpoint=sys.argv[2],
        )
        runtime = await Runtime.open(settings)
        assert runtime.forms["tracing"][0] == "production"
        org = await OrganizationAdmin(runtime.db).create("Traced")
        config = run_context(org.id, runtime, graph="trend_analysis", thread_id="t-42")
        await trend_analyzer.call({"days": 7}, config)
        await runtime.close()
        print(org.id)

    asyncio.run(main())
    wait_for_all_tracers()
    """
)


def test_agent_runs_reach_langsmith_with_tenant_metadata(tmp_path: Path) -> None:
    received: list[bytes] = []
    with serve_app(build_langsmith_app(received)) as endpoint:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH", "LANGCHAIN"))}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path / "data"), endpoint],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    org_id = done.stdout.strip().splitlines()[-1]
    payload = b"".join(received)
    assert b"trend_analyzer" in payload
    assert org_id.encode() in payload
    assert b"agent:trend_analyzer" in payload
    assert b"t-42" in payload
