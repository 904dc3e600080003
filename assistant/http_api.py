"""The HTTP API and status page of a running service, on aiohttp, in a thread of its own.

    GET  /                 status page (web/index.html + status.js; no build step)
    GET  /health           liveness + readiness of each part (200 ready, 503 not); no token needed
    GET  /metrics          Prometheus text
    POST /api/ask          {"text", "dry_run"?, "area"?, "now"?} -> the JSON of `assistant ask --json`
    POST /api/audio        a recording as the body (?no_wake=1&dry_run=0&area=) -> results + reply WAV (base64)
    GET  /api/traces       ?limit=50: the last runs, newest first
    GET  /api/alarms       DELETE /api/alarms/{id}
    GET  /api/timers       DELETE /api/timers/{id}
    GET  /api/devices

With ``http.token`` set, everything but the page's files and /health needs ``Authorization: Bearer
TOKEN`` (compared in constant time). Without one the server listens on loopback only (see
service.check_bind) and accepts only loopback Host headers (no DNS rebinding). POSTs must say
their content type (JSON or audio), which a foreign web page cannot do without CORS, which is off.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hmac
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from .service import InputError, ServiceError, is_loopback

log = logging.getLogger(__name__)

WEB = Path(__file__).parent / "web"
PUBLIC = {"/", "/status.js", "/status.css", "/health"}
MAX_BODY = 32 * 1024 * 1024  # a few minutes of WAV
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    dry_run: bool = False
    area: str | None = None
    now: dt.datetime | None = None


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ApiError(400, f"query parameter {name}={value!r}: use 1 or 0")


class HttpServer:
    def __init__(self, service: Any, host: str, port: int, token: str | None):
        self.service, self.host, self.port, self.token = service, host, port, token
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    # ---- lifecycle (called from the main thread) -----------------------------------------------
    def start(self, timeout: float = 15.0) -> str:
        """Listen; returns the page's URL. Raises ServiceError when the address cannot be used."""
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise ServiceError(f"the HTTP server did not start within {timeout:.0f} s")
        if self._error is not None:
            raise ServiceError(
                f"cannot listen on {self.host}:{self.port} ({self._error}); is another assistant running? "
                "Choose another http.port (or ASSISTANT_HTTP_PORT), or stop the other one."
            )
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._listen())
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self._error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _listen(self) -> None:
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_BODY)
        app.add_routes(
            [
                web.get("/", self._page),
                web.get("/status.js", self._static),
                web.get("/status.css", self._static),
                web.get("/health", self._health),
                web.get("/metrics", self._metrics),
                web.post("/api/ask", self._ask),
                web.post("/api/audio", self._audio),
                web.get("/api/traces", self._traces),
                web.get("/api/alarms", self._alarms),
                web.delete(r"/api/alarms/{id:\d+}", self._delete_alarm),
                web.get("/api/timers", self._timers),
                web.delete(r"/api/timers/{id:\d+}", self._delete_timer),
                web.get("/api/devices", self._devices),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        """Close the listener and open connections; wait for the thread."""
        if self._loop is None or self._runner is None or not self._loop.is_running():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        except Exception:  # noqa: BLE001 - shutting down anyway
            log.exception("closing the HTTP server failed")
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ---- helpers --------------------------------------------------------------------------------
    async def _blocking(self, fn: Callable[..., Any], *args: Any, pool: Any = None, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(fn, *args, **kwargs))

    def _json(self, data: Any, status: int = 200) -> web.Response:
        return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not self.token:
            return False
        return hmac.compare_digest(given.strip().encode(), self.token.encode())

    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        try:
            if request.path not in PUBLIC:
                if self.token:
                    if not self._authorised(request):
                        raise ApiError(
                            401,
                            "missing or wrong token: send 'Authorization: Bearer TOKEN' "
                            "(the http.token of the config)",
                        )
                elif not is_loopback((request.url.host or "").strip("[]")):
                    raise ApiError(
                        403,
                        "this server answers requests for localhost / 127.0.0.1 only; "
                        "set http.token to reach it under another name",
                    )
            return await handler(request)
        except ApiError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return web.json_response({"error": str(exc)}, status=exc.status, headers=headers)
        except InputError as exc:
            return self._json({"error": self.service.redact(str(exc))}, 400)
        except web.HTTPException:
            raise
        except Exception as exc:  # noqa: BLE001 - the one place request failures are caught
            log.exception("%s %s failed", request.method, request.path)
            self.service.metrics.errors.labels("http").inc()
            return self._json(
                {"error": self.service.redact(f"internal error: {type(exc).__name__}: {exc}")}, 500
            )

    # ---- page -----------------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEB / "index.html", headers=PAGE_HEADERS)

    async def _static(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEB / request.path.lstrip("/"), headers=PAGE_HEADERS)

    # ---- state ----------------------------------------------------------------------------------
    async def _health(self, request: web.Request) -> web.Response:
        health = await self._blocking(self.service.health)
        return self._json(health, 200 if health["ready"] else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await self._blocking(self.service.metrics.text)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def _traces(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            raise ApiError(400, "limit must be a whole number") from None
        return self._json(self.service.traces.recent(max(0, limit)))

    async def _alarms(self, request: web.Request) -> web.Response:
        from .views import alarm_items

        a = self.service.assistant
        return self._json(self.service.redact(await self._blocking(lambda: alarm_items(a, a.now()))))

    async def _timers(self, request: web.Request) -> web.Response:
        from .views import timer_items

        a = self.service.assistant
        return self._json(self.service.redact(await self._blocking(lambda: timer_items(a, a.now()))))

    async def _devices(self, request: web.Request) -> web.Response:
        from .views import device_items

        return self._json(self.service.redact(await self._blocking(device_items, self.service.assistant)))

    async def _delete(self, kind: str, item_id: int) -> web.Response:
        if not await self._blocking(self.service.cancel, kind, item_id):
            raise ApiError(404, f"no {kind} #{item_id} (it may have rung or been cancelled already)")
        return self._json({"deleted": item_id})

    async def _delete_alarm(self, request: web.Request) -> web.Response:
        return await self._delete("alarm", int(request.match_info["id"]))

    async def _delete_timer(self, request: web.Request) -> web.Response:
        return await self._delete("timer", int(request.match_info["id"]))

    # ---- requests -------------------------------------------------------------------------------
    async def _ask(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            raise ApiError(
                415, 'send JSON with \'Content-Type: application/json\', e.g. {"text": "what time is it"}'
            )
        try:
            body = AskRequest.model_validate(await request.json())
        except ValueError as exc:  # bad JSON, or ValidationError
            detail = (
                "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
                if isinstance(exc, ValidationError)
                else str(exc)
            )
            raise ApiError(
                400,
                f'bad request body ({detail}); expected {{"text": "...", "dry_run": false, "area": null}}}}',
            ) from None
        result = await self._blocking(
            self.service.ask, body.text, dry_run=body.dry_run, area=body.area, now=body.now
        )
        return self._json(result)

    async def _audio(self, request: web.Request) -> web.Response:
        if not (
            request.content_type.startswith("audio/") or request.content_type == "application/octet-stream"
        ):
            raise ApiError(
                415, "send the recording as the body with 'Content-Type: audio/wav' (or another audio/* type)"
            )
        no_wake, dry_run = _flag(request, "no_wake", True), _flag(request, "dry_run", False)
        data = await request.read()
        result = await self._blocking(
            self.service.audio,
            data,
            no_wake=no_wake,
            dry_run=dry_run,
            area=request.query.get("area") or None,
            pool=self.service.audio_pool,
        )
        return self._json(result)
