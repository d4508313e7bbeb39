"""The exporter's HTTP server: /metrics, the landing page, health, readiness and reload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from exporter.landing import render_landing
from exporter.renderer import MetricsRenderer
from exporter.snapshot import SnapshotStore

Reload = Callable[[], Awaitable[list[str]]]
RENDERER = web.AppKey("renderer", MetricsRenderer)

# A page that runs no script and loads nothing from elsewhere.
LANDING_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
)


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["X-Content-Type-Options"] = "nosniff"
        raise
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def build_app(
    store: SnapshotStore, reload: Reload, telemetry_path: str = "/metrics"
) -> web.Application:
    renderer = MetricsRenderer(store)

    async def landing(request: web.Request) -> web.Response:
        return web.Response(
            text=render_landing(store.snapshot, telemetry_path),
            content_type="text/html",
            headers={"Content-Security-Policy": LANDING_CSP},
        )

    async def healthy(request: web.Request) -> web.Response:
        return web.Response(text="Healthy\n")

    async def ready(request: web.Request) -> web.Response:
        snapshot = store.snapshot
        if snapshot.ready:
            return web.Response(text="Ready\n")
        waiting = sum(1 for account in snapshot.accounts if account.up is None)
        return web.Response(status=503, text=f"Not ready: {waiting} account(s) not polled yet\n")

    async def reload_handler(request: web.Request) -> web.Response:
        problems = await reload()
        await renderer.settled()  # the answer comes once /metrics shows the outcome
        if problems:
            return web.Response(
                status=500, text="failed to reload config:\n" + "\n".join(problems) + "\n"
            )
        return web.Response(text="config reloaded\n")

    app = web.Application(middlewares=[_security_headers])
    app[RENDERER] = renderer

    async def stop_rendering(app: web.Application) -> None:
        await renderer.close()

    app.on_cleanup.append(stop_rendering)
    app.router.add_get(telemetry_path, renderer.handle)
    if telemetry_path != "/":
        app.router.add_get("/", landing)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload_handler)
    return app
