"""The ``chorus`` command. Commands that produce data print it as JSON on their last line."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from chorus.runtime import Runtime
from chorus.settings import Settings

T = TypeVar("T")

app = typer.Typer(
    name="chorus",
    help="Chorus: AI social media management on LangGraph agents.",
    no_args_is_help=True,
    add_completion=False,
)
orgs_app = typer.Typer(help="Operator commands for organizations.", no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")

# Human-readable progress goes to stderr so stdout stays machine-readable.
console = Console(stderr=True)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def _with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    async def main() -> T:
        runtime = await Runtime.open(Settings())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    seed_demo_data: Annotated[
        bool, typer.Option("--seed-demo/--no-seed-demo", help="Seed demo data first if absent.")
    ] = False,
) -> None:
    """Serve the API (default 127.0.0.1:8000)."""
    import uvicorn

    from api.app import create_app

    settings = Settings()
    if seed_demo_data:
        summary = _seed(settings)
        console.print(f"demo organization {summary['slug']}: sign in as {summary['admin_email']}")
        _print_json(summary)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        timeout_graceful_shutdown=30,
    )


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Exit once the queue is empty.")] = False,
) -> None:
    """Run background jobs and crons from Redis (needs CHORUS_REDIS_URL)."""
    from chorus.worker import WorkerNeedsRedis, build_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        build_worker(Settings(), burst=burst).run()
    except WorkerNeedsRedis as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _seed(settings: Settings) -> dict[str, Any]:
    from chorus.demo import seed_demo

    async def main() -> dict[str, Any]:
        async with await Runtime.open(settings) as runtime:
            with console.status("seeding demo data") as status:

                def progress(step: str, done: int, total: int) -> None:
                    status.update(f"seeding demo data: {step} {done}/{total}")

                summary = await seed_demo(runtime, progress=progress)
        return summary.model_dump(mode="json")

    return asyncio.run(main())


@app.command("seed-demo")
def seed_demo_command() -> None:
    """Create the demo organization with 90 days of posts and analytics (idempotent)."""
    summary = _seed(Settings())
    verb = "created" if summary.get("created") else "already present"
    console.print(f"demo organization {summary['slug']} {verb}")
    _print_json(summary)


@orgs_app.command("create")
def orgs_create(name: Annotated[str, typer.Argument(help="Organization name.")]) -> None:
    """Create an organization and print it as JSON."""
    from persistence.admin import OrganizationAdmin

    async def work(runtime: Runtime) -> Any:
        return await OrganizationAdmin(runtime.db).create(name)

    try:
        org = _with_runtime(work)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _print_json(org.model_dump(mode="json", by_alias=True))


@orgs_app.command("list")
def orgs_list() -> None:
    """List organizations as JSON."""
    from persistence.admin import OrganizationAdmin

    async def work(runtime: Runtime) -> Any:
        return await OrganizationAdmin(runtime.db).list()

    orgs = _with_runtime(work)
    for org in orgs:
        console.print(f"{org.id}  {org.slug:30}  {org.name}")
    _print_json([o.model_dump(mode="json", by_alias=True) for o in orgs])


@app.command()
def doctor(
    quick: Annotated[bool, typer.Option(help="Skip loading the models.")] = False,
) -> None:
    """Check every component: its form, and whether it answers. Exits 1 if one does not."""

    async def work(runtime: Runtime) -> list[Any]:
        with console.status("checking components"):
            return await runtime.check(deep=not quick)

    statuses = _with_runtime(work)
    table = Table("component", "form", "backend", "answers", "detail", "seconds")
    for s in statuses:
        mark = "[green]yes[/green]" if s.ok else "[red]no[/red]"
        table.add_row(s.name, s.form, s.backend, mark, s.detail, f"{s.seconds:.2f}")
    console.print(table)
    _print_json(
        {
            "ok": all(s.ok for s in statuses),
            "components": [
                {"name": s.name, "form": s.form, "backend": s.backend, "ok": s.ok} for s in statuses
            ],
        }
    )
    if not all(s.ok for s in statuses):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
