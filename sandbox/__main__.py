"""``python -m sandbox [--host H] [--port N]``: serve every sandbox network until Ctrl-C."""

from __future__ import annotations

import argparse

import uvicorn

from sandbox.app import NETWORKS, build_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Chorus social network sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args()
    app, _ = build_app()
    base = f"http://{args.host}:{args.port}"
    print(f"sandbox on {base}: " + ", ".join(f"{base}/{n}" for n in NETWORKS), flush=True)
    print(f"control API: {base}/_sandbox", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", ws="none")


if __name__ == "__main__":
    main()
