"""The exporter's HTTP server: /metrics, the landing page, health, readiness and reload."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client.exposition import gzip_accepted

from balance_exporter.config.webconfig import WebConfig
from balance_exporter.metrics.renderer import MetricsRenderer
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.polling.clock import Clock
from balance_exporter.web.auth import BasicAuthChecker, ChecksBusy
from balance_exporter.web.landing import BadFilter, LandingPage, parse_filters

Reload = Callable[[], Awaitable[list[str]]]
RENDERER = web.AppKey("renderer", MetricsRenderer)

# A page that runs no script and loads nothing from elsewhere.
LANDING_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
)


# Probes must work without a password (exporter-toolkit leaves them open too).
OPEN_PATHS = frozenset({"/-/healthy", "/-/ready"})
CHALLENGE = {"WWW-Authenticate": 'Basic realm="balance-exporter", charset="UTF-8"'}
BUSY = {"Retry-After": "1"}


class WebState:
    """The web configuration in force; a reload swaps it between requests."""

    def __init__(self, config: WebConfig | None = None) -> None:
        self.config = config or WebConfig()
        self.auth = BasicAuthChecker(self.config.users) if self.config.users else None

    async def replace(self, config: WebConfig) -> None:
        auth = self.auth
        if config.users != self.config.users:
            # A new checker hashes its dummy password with bcrypt: never on the event loop.
            auth = await asyncio.to_thread(BasicAuthChecker, config.users) if config.users else None
        self.config, self.auth = config, auth


def _guard(state: WebState) -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            allowed = request.path in OPEN_PATHS or await _allowed(state.auth, request)
        except ChecksBusy:
            raise web.HTTPTooManyRequests(headers=BUSY, text="Too many logins\n") from None
        if not allowed:
            raise web.HTTPUnauthorized(headers=CHALLENGE, text="Unauthorized\n")
        return await handler(request)

    return guard


def _hardening(state: WebState) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """Every answer's headers, errors included, set before they are sent (a streamed body
    sends them before its handler returns)."""

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update({"X-Content-Type-Options": "nosniff", **state.config.headers})

    return add_headers


async def _allowed(auth: BasicAuthChecker | None, request: web.Request) -> bool:
    return auth is None or await auth.check(request.headers.get(hdrs.AUTHORIZATION))


def metrics_handler(renderer: MetricsRenderer) -> Handler:
    """/metrics: the cached rendering in the negotiated format, gzipped when accepted."""

    async def metrics(request: web.Request) -> web.StreamResponse:
        want_gzip = gzip_accepted(request.headers.get(hdrs.ACCEPT_ENCODING, ""))
        rendering, content_type = await renderer.latest(
            ",".join(request.headers.getall(hdrs.ACCEPT, [])),
            tuple(request.query.getall("name[]", [])),
            want_gzip,
        )
        headers = {hdrs.CONTENT_TYPE: content_type, hdrs.VARY: "Accept, Accept-Encoding"}
        chunks = rendering.chunks
        if want_gzip and rendering.gzipped is not None:
            headers[hdrs.CONTENT_ENCODING] = "gzip"
            chunks = rendering.gzipped
        # The kept pieces are sent one after the other, never joined into one more copy.
        response = web.StreamResponse(headers=headers)
        response.content_length = sum(map(len, chunks))
        await response.prepare(request)
        for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
        return response

    return metrics


def build_app(
    store: SnapshotStore,
    reload: Reload,
    telemetry_path: str = "/metrics",
    web_state: WebState | None = None,
    *,
    lifecycle: bool = False,
    now: Callable[[], float] = time.time,
    clock: Clock | None = None,
) -> web.Application:
    """The app; ``now`` is the time the landing page measures staleness against (the
    scheduler's clock), ``clock`` paces the renderings of the process's figures (see
    MetricsRenderer)."""
    renderer = MetricsRenderer(store, LandingPage(telemetry_path).render, now, clock=clock)

    async def landing(request: web.Request) -> web.Response:
        try:
            filters = parse_filters(request.query.items())
        except BadFilter as exc:
            raise web.HTTPBadRequest(text=f"{exc}\n") from None
        want_gzip = gzip_accepted(request.headers.get(hdrs.ACCEPT_ENCODING, ""))
        rendering = await renderer.page(filters, want_gzip)
        headers = {"Content-Security-Policy": LANDING_CSP, hdrs.VARY: "Accept-Encoding"}
        if want_gzip and rendering.gzipped is not None:
            headers[hdrs.CONTENT_ENCODING] = "gzip"
            body = rendering.gzipped
        else:
            body = rendering.body
        return web.Response(body=body, content_type="text/html", charset="utf-8", headers=headers)

    async def healthy(request: web.Request) -> web.Response:
        return web.Response(text="Healthy\n")

    async def ready(request: web.Request) -> web.Response:
        snapshot = store.snapshot
        if snapshot.ready and renderer.ready:  # ready once /metrics shows every first poll
            return web.Response(text="Ready\n")
        waiting = sum(1 for account in snapshot.accounts if account.up is None)
        if not waiting:
            return web.Response(status=503, text="Not ready: rendering the first polls\n")
        return web.Response(status=503, text=f"Not ready: {waiting} account(s) not polled yet\n")

    async def reload_handler(request: web.Request) -> web.Response:
        if not lifecycle:  # as Prometheus: reloads over HTTP only when asked for (SIGHUP always)
            raise web.HTTPForbidden(text="Lifecycle API is not enabled.\n")
        problems = await reload()  # answers once the new config is in force, not rendered
        if problems:
            return web.Response(
                status=500, text="failed to reload config:\n" + "\n".join(problems) + "\n"
            )
        return web.Response(text="config reloaded\n")

    state = web_state or WebState()
    app = web.Application(middlewares=[_guard(state)])
    app.on_response_prepare.append(_hardening(state))
    app[RENDERER] = renderer

    async def start_rendering(app: web.Application) -> None:
        renderer.start()

    async def stop_rendering(app: web.Application) -> None:
        await renderer.close()

    app.on_startup.append(start_rendering)
    app.on_cleanup.append(stop_rendering)
    app.router.add_get(telemetry_path, metrics_handler(renderer))
    if telemetry_path != "/":
        app.router.add_get("/", landing)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload_handler)
    return app
