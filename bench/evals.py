"""Benchmark: the whole eval ``test`` split with the scripted model, as ``chorus eval`` runs it.

Prints each suite's cases and time, then the cases per second and the total time, with the
startup (imports, runtime) apart from the run. Target: the run under 60 s.

    .venv/bin/python bench/evals.py [--split test] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
# This file's own folder comes first on sys.path; the project root must be importable.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from chorus.settings import Settings  # noqa: E402
from evals.env import eval_env  # noqa: E402
from evals.runner import run_evals, select_suites  # noqa: E402

TARGET_SECONDS = 60.0


async def main(split: str, concurrency: int) -> dict[str, object]:
    suites = select_suites(None)
    async with eval_env("scripted", settings=Settings(_env_file=None)) as env:  # type: ignore[call-arg]
        ready = time.perf_counter()
        run = await run_evals(env, suites, split=split, concurrency=concurrency)
    for suite_run in run.suites:
        print(
            f"{suite_run.name:22} {len(suite_run.results):4} cases {suite_run.errors:3} errors "
            f"{suite_run.seconds:7.1f} s",
            file=sys.stderr,
        )
    verdict = "within" if run.seconds < TARGET_SECONDS else "OVER"
    print(
        f"{run.cases} cases in {run.seconds:.1f} s ({run.cases_per_second:.2f} cases/s), "
        f"{verdict} the {TARGET_SECONDS:g} s target; startup {ready - STARTED:.1f} s",
        file=sys.stderr,
    )
    return {
        "cases": run.cases,
        "errors": run.errors,
        "seconds": round(run.seconds, 2),
        "casesPerSecond": round(run.cases_per_second, 2),
        "startupSeconds": round(ready - STARTED, 2),
        "targetSeconds": TARGET_SECONDS,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    summary = asyncio.run(main(args.split, args.concurrency))
    print(json.dumps(summary))
