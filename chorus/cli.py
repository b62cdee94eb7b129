"""The ``chorus`` command. Commands that produce data print it as JSON on their last line."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from chorus import server_file
from chorus.runtime import Runtime
from chorus.server_client import ServerClient, ServerRefused
from chorus.settings import Settings
from persistence.embedded_mongo import DataDirInUseError

T = TypeVar("T")

app = typer.Typer(
    name="chorus",
    help="Chorus: AI social media management on LangGraph agents.",
    no_args_is_help=True,
    add_completion=False,
)
orgs_app = typer.Typer(help="Operator commands for organizations.", no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")
operators_app = typer.Typer(
    help="Platform operators: the accounts that may use /api/admin.", no_args_is_help=True
)
app.add_typer(operators_app, name="operators")

# Human-readable progress goes to stderr so stdout stays machine-readable.
console = Console(stderr=True)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def _fail(message: str) -> NoReturn:
    console.print(f"[red]{message}[/red]", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _with_runtime(
    work: Callable[[Runtime], Awaitable[T]],
    remote: Callable[[ServerClient], T] | None = None,
    command: str = "this command",
) -> T:
    """``work`` on this process's own runtime; while a server holds the embedded data dir,
    ``remote`` on that server instead (or one line saying why the command cannot run)."""
    settings = Settings()

    async def main() -> T:
        runtime = await Runtime.open(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except DataDirInUseError:
        pass  # nothing was opened: ask the process that holds the data dir
    return _beside_server(settings, remote, command)


def _beside_server(
    settings: Settings, remote: Callable[[ServerClient], T] | None, command: str
) -> T:
    data_dir = settings.data_dir
    note = server_file.read(data_dir)
    if note is None:
        _fail(
            f"{data_dir} is in use by another process (a server starting, or another command): "
            "wait for it, or set CHORUS_DATA_DIR to another directory"
        )
    if remote is None:
        _fail(
            f"chorus {command} cannot run while the server at {note.url} (pid {note.pid}) "
            f"holds {data_dir}: stop the server first, then run it again"
        )
    console.print(f"the server at {note.url} holds the data dir; asking it", highlight=False)
    try:
        with ServerClient(note) as client:
            return remote(client)
    except ServerRefused as exc:
        _fail(str(exc))


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

    from chorus.app import create_app

    settings = Settings()
    host, port = host or settings.host, port or settings.port
    url = server_file.local_url(host, port)
    if seed_demo_data:
        summary = _seed(settings)
        # The demo's own credentials (also in the JSON line): what a first visit needs.
        console.print(
            f"demo organization {summary['slug']}: open {url}/console and sign in as "
            f"{summary['admin_email']} with password {summary['admin_password']}",
            highlight=False,
            soft_wrap=True,
        )
        _print_json(summary)
    else:
        console.print(f"console: {url}/console", highlight=False, soft_wrap=True)
    from persistence.logs import configure_json_logging

    # JSON lines with the request id; log_config=None keeps uvicorn's loggers on them too.
    configure_json_logging()
    uvicorn.run(
        create_app(settings, serve_url=url, connect_demo=seed_demo_data),
        host=host,
        port=port,
        log_config=None,
        **uvicorn_options(settings),
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the app: no Server banner, and X-Forwarded-* believed only from
    configured proxies (believed from anyone, a header would let a client choose its own
    IP: its rate-limit bucket, its audit trail)."""
    return {
        "log_level": "info",
        "timeout_graceful_shutdown": 30,
        "server_header": False,
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or None,
        # WebSocket frames go out uncompressed: the sockets' messages are a few hundred
        # bytes of JSON, where permessage-deflate saves little, yet it compresses every
        # frame once per socket (a fanned-out event to ten thousand sockets, ten thousand
        # times) and holds a compressor per socket.
        "ws_per_message_deflate": False,
    }


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Exit once the queue is empty.")] = False,
) -> None:
    """Run background jobs and crons from Redis (needs CHORUS_REDIS_URL)."""
    from chorus.worker import WorkerNeedsRedis, build_worker
    from persistence.logs import configure_json_logging

    configure_json_logging()
    try:
        build_worker(Settings(), burst=burst).run()
    except WorkerNeedsRedis as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


async def _seed_work(runtime: Runtime) -> dict[str, Any]:
    from services.demo import seed_demo

    with console.status("seeding demo data") as status:

        def progress(step: str, done: int, total: int) -> None:
            status.update(f"seeding demo data: {step} {done}/{total}")

        summary = await seed_demo(runtime, progress=progress)
    return summary.model_dump(mode="json")


def _seed(settings: Settings) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        async with await Runtime.open(settings) as runtime:
            return await _seed_work(runtime)

    return asyncio.run(main())


@app.command("seed-demo")
def seed_demo_command() -> None:
    """Create the demo organization with 90 days of posts and analytics (idempotent)."""

    def remote(client: ServerClient) -> dict[str, Any]:
        with console.status("seeding demo data in the server"):
            return client.seed_demo()

    summary = _with_runtime(_seed_work, remote, "seed-demo")
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
        org = _with_runtime(work, command="orgs create")
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _print_json(org.model_dump(mode="json", by_alias=True))


@orgs_app.command("list")
def orgs_list() -> None:
    """List organizations as JSON."""
    from persistence.admin import OrganizationAdmin

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        orgs = await OrganizationAdmin(runtime.db).list()
        return [o.model_dump(mode="json", by_alias=True) for o in orgs]

    orgs = _with_runtime(work, lambda client: client.organizations(), "orgs list")
    for org in orgs:
        console.print(f"{org['_id']}  {org['slug']:30}  {org['name']}")
    _print_json(orgs)


def _set_operator(email: str, operator: bool) -> None:
    from persistence.platform import Platform

    async def work(runtime: Runtime) -> Any:
        return await Platform(runtime.db).set_operator(email, operator)

    user = _with_runtime(work, command="operators")
    if user is None:
        console.print(f"[red]no account with the email {email!r}[/red]")
        raise typer.Exit(2)
    _print_json({"id": str(user.id), "email": user.email, "operator": operator})


@operators_app.command("grant")
def operators_grant(email: Annotated[str, typer.Argument(help="The account's email.")]) -> None:
    """Make an existing account a platform operator (signed in with its password, it may
    use /api/admin; no organization role gives that)."""
    _set_operator(email, True)


@operators_app.command("revoke")
def operators_revoke(email: Annotated[str, typer.Argument(help="The account's email.")]) -> None:
    """Withdraw the operator role (from the account's next request on)."""
    _set_operator(email, False)


@orgs_app.command("set-plan")
def orgs_set_plan(
    org: Annotated[str, typer.Argument(help="Organization id or slug.")],
    plan: Annotated[str, typer.Argument(help="free, starter, pro, business or enterprise.")],
    status: Annotated[
        str,
        typer.Option(
            help="Subscription state: active, trialing, past_due (grace, then read-only), "
            "canceled, unpaid or paused (read-only)."
        ),
    ] = "active",
) -> None:
    """Assign a plan (local billing, or a plan sold offline); prints the subscription as JSON.

    Refused while a Stripe subscription pays for the organization: change it in Stripe."""
    from persistence.admin import OrganizationAdmin
    from persistence.errors import ChorusError
    from persistence.ids import parse_object_id
    from services.billing import subscriptions

    async def work(runtime: Runtime) -> Any:
        admin = OrganizationAdmin(runtime.db)
        try:
            found = await admin.get(parse_object_id(org))
        except ValueError:
            found = await admin.get_by_slug(org)
        if found is None:
            raise typer.BadParameter(f"no organization with id or slug {org!r}", param_hint="ORG")
        return await subscriptions.assign(runtime.db, found.id, plan, status)

    try:
        updated = _with_runtime(work, command="orgs set-plan")
    except ChorusError as exc:
        details = "; ".join(f"{f['field']}: {f['message']}" for f in exc.fields or [])
        console.print(f"[red]{exc.message}{': ' + details if details else ''}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"{updated.slug}: {updated.subscription.plan} ({updated.subscription.status})")
    _print_json(
        {
            "organizationId": str(updated.id),
            "slug": updated.slug,
            **updated.subscription.model_dump(mode="json", by_alias=True),
        }
    )


def _json_option(value: str | None, name: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        console.print(f"[red]{name} is not valid JSON: {exc}[/red]")
        raise typer.Exit(2) from exc


async def _require_org(runtime: Runtime, org: str) -> Any:
    from persistence.admin import OrganizationAdmin
    from persistence.ids import parse_object_id

    try:
        found = await OrganizationAdmin(runtime.db).get(parse_object_id(org))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--org") from exc
    if found is None:
        raise typer.BadParameter(f"no organization {org}", param_hint="--org")
    return found.id


@app.command()
def run(
    graph: Annotated[str, typer.Argument(help="Graph name, e.g. content_creation, scheduler.")],
    org: Annotated[str, typer.Option("--org", help="Organization id.")],
    input: Annotated[str | None, typer.Option("--input", help="Graph input as JSON.")] = None,
    thread: Annotated[str | None, typer.Option(help="Thread id (to resume or continue).")] = None,
    resume: Annotated[
        str | None, typer.Option(help='Resume an interrupt, e.g. \'{"action": "approve"}\'.')
    ] = None,
    model: Annotated[str | None, typer.Option(help="Chat model, provider:model.")] = None,
) -> None:
    """Run a graph: its updates as JSON lines, then the final state or the interrupt.

    The run is an /lg thread of the organization (the API and the console see it); while a
    server holds the data dir, the server runs it."""
    from graphs.registry import GRAPH_NAMES
    from persistence.errors import ChorusError
    from runs.operator_runs import operator_run

    if graph not in GRAPH_NAMES:
        raise typer.BadParameter(f"choose one of: {', '.join(GRAPH_NAMES)}", param_hint="GRAPH")
    payload, answer = _json_option(input, "--input"), _json_option(resume, "--resume")
    if (payload is None) == (answer is None):
        raise typer.BadParameter("give exactly one of --input and --resume")
    if answer is not None and not thread:
        raise typer.BadParameter("--resume needs the --thread of the interrupted run")

    failed = False

    def show(kind: str, data: dict[str, Any]) -> None:
        nonlocal failed
        failed = failed or kind == "error"
        _print_json(data)

    async def work(runtime: Runtime) -> None:
        org_id = await _require_org(runtime, org)
        lines = operator_run(
            runtime.engine,
            org_id,
            graph=graph,
            thread_id=thread,
            input=payload,
            resume=answer,
            model=model,
        )
        async for kind, data in lines:
            show(kind, data)

    def remote(client: ServerClient) -> None:
        body = {"graph": graph, "org": org, "thread": thread, "model": model}
        body |= {"input": payload} if answer is None else {"resume": answer}
        for kind, data in client.run(body):
            show(kind, data)

    try:
        _with_runtime(work, remote, "run")
    except ChorusError as exc:
        details = "; ".join(f"{f['field']}: {f['message']}" for f in exc.fields or [])
        _fail(exc.message + (f" ({details})" if details else ""))
    if failed:
        raise typer.Exit(1)


@app.command("import-analytics")
def import_analytics_command(
    file: Annotated[Path, typer.Argument(help="JSON lines or CSV of per-post metrics.")],
    org: Annotated[str, typer.Option("--org", help="Organization id.")],
    fmt: Annotated[str, typer.Option("--format", help="auto, jsonl or csv.")] = "auto",
) -> None:
    """Import per-post metrics into posts and analytics, idempotently."""
    from tools.importer import import_analytics

    if not file.is_file():
        raise typer.BadParameter(f"{file} is not a file", param_hint="FILE")
    if fmt not in ("auto", "jsonl", "csv"):
        raise typer.BadParameter("use auto, jsonl or csv", param_hint="--format")

    async def work(runtime: Runtime) -> Any:
        org_id = await _require_org(runtime, org)
        with console.status(f"importing {file}"):
            return await import_analytics(runtime.db, org_id, file, fmt=fmt)  # type: ignore[arg-type]

    report = _with_runtime(work, command="import-analytics")
    for error in report.errors[:50]:
        console.print(f"line {error.line}: {error.field}: {error.message}")
    _print_json(report.model_dump(mode="json"))


@app.command()
def doctor(
    quick: Annotated[bool, typer.Option(help="Skip loading the models.")] = False,
) -> None:
    """Check every component: its form, and whether it answers. Exits 1 if one does not."""

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        with console.status("checking components"):
            return [dataclasses.asdict(s) for s in await runtime.check(deep=not quick)]

    def remote(client: ServerClient) -> list[dict[str, Any]]:
        with console.status("checking the server's components"):
            return list(client.components(deep=not quick)["components"])

    statuses = _with_runtime(work, remote, "doctor")
    table = Table("component", "form", "backend", "answers", "detail", "seconds")
    for s in statuses:
        mark = "[green]yes[/green]" if s["ok"] else "[red]no[/red]"
        table.add_row(s["name"], s["form"], s["backend"], mark, s["detail"], f"{s['seconds']:.2f}")
    console.print(table)
    ok = all(s["ok"] for s in statuses)
    _print_json(
        {
            "ok": ok,
            "components": [{k: s[k] for k in ("name", "form", "backend", "ok")} for s in statuses],
        }
    )
    if not ok:
        raise typer.Exit(1)


@app.command("eval")
def eval_command(
    agent: Annotated[
        list[str] | None,
        typer.Option(
            "--agent",
            metavar="NAME",
            help="A dataset to run: an agent (scheduler) or content_creation; repeatable. "
            "Default: every dataset in evals/datasets.",
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="dev or test.")] = "test",
    model: Annotated[
        str | None,
        typer.Option(help="Chat model under test, provider:model (default: configured)."),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(help="Judge model for tone, brand voice and helpfulness, provider:model."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most N cases per dataset.")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Cases in flight at once (default 4; 2 for local).")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Baseline JSON to gate on (exit 1 on a regression).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where reports go (default .chorus/evals/<timestamp>).")
    ] = None,
    write_baseline: Annotated[
        Path | None, typer.Option("--write-baseline", help="Record this run as a baseline file.")
    ] = None,
) -> None:
    """Run the eval suites: a table against the baseline, results JSON, Markdown and a chart."""
    from evals.command import BadEvalArguments, EvalOptions, execute

    options = EvalOptions(
        agents=list(agent or []),
        split=split,
        model=model,
        judge=judge,
        limit=limit,
        concurrency=concurrency,
        baseline=baseline,
        out=out,
        write_baseline=write_baseline,
    )
    # Off a terminal (CI logs) rich assumes 80 columns; the metrics table needs more.
    out_console = console if console.is_terminal else Console(stderr=True, width=140)
    try:
        outcome = asyncio.run(execute(options, Settings(), out_console))
    except BadEvalArguments as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _print_json(outcome.summary())
    if outcome.gate_failed:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
