"""Command line: `python -m slmfleet.router (--config FILE | --configmap NS/NAME) --port P`.

With both, the file is used when it exists (a mounted ConfigMap), else the ConfigMap is watched
through the Kubernetes API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from slmfleet.router.config_source import ConfigSource, FileConfigSource
from slmfleet.router.k8s_source import KubernetesConfigSource, split_ref
from slmfleet.router.server import STATE, build_app

log = logging.getLogger("slmfleet.router")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The router's command line options."""
    parser = argparse.ArgumentParser(
        prog="python -m slmfleet.router",
        description="OpenAI-compatible router in front of slmfleet model backends.",
    )
    parser.add_argument("--config", help="router config JSON file (used when it exists)")
    parser.add_argument(
        "--configmap",
        help="NAMESPACE/NAME of a ConfigMap whose config.json to watch through the API",
    )
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between config file checks"
    )
    parser.add_argument(
        "--shutdown-grace", type=float, default=30.0, help="seconds in-flight requests get on stop"
    )
    parser.add_argument("--log-level", default="INFO", help="logging level")
    args = parser.parse_args(argv)
    if not args.config and not args.configmap:
        parser.error("give --config or --configmap")
    return args


def config_source(args: argparse.Namespace) -> ConfigSource:
    """The file when it exists (or no ConfigMap is named), else the ConfigMap watch."""
    if args.config and (Path(args.config).exists() or not args.configmap):
        return FileConfigSource(args.config, poll_interval=args.poll_interval)
    namespace, name = split_ref(args.configmap)
    return KubernetesConfigSource(namespace, name)


async def serve(args: argparse.Namespace) -> None:
    """Run the router until SIGTERM or SIGINT; SIGHUP reloads the config file."""
    try:
        source = config_source(args)
    except (OSError, ValueError) as exc:  # ValueError covers JSON and validation errors
        where = args.config or args.configmap
        raise SystemExit(f"router config {where} cannot be loaded: {exc}") from exc
    app = build_app(source)
    if isinstance(source, KubernetesConfigSource):
        reloads = app[STATE].metrics.config_reloads
        source.add_listener(lambda ok: reloads.labels(result="ok" if ok else "invalid").inc())
    runner = web.AppRunner(app, shutdown_timeout=args.shutdown_grace)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    log.info("router listening on %s:%d", args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    if isinstance(source, FileConfigSource):
        loop.add_signal_handler(signal.SIGHUP, source.reload)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(signum)
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
