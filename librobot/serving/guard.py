"""ASGI guard wrapped around the whole BentoML app: routes, auth, content type, body size and time.

It is the outermost layer (``service.py`` installs it around what BentoML builds), so it runs
before BentoML's own middlewares:

- before the metrics middleware, which labels every series by the raw request path: unknown paths
  get their 404 here and never become a label (3,000 random paths grew ``/metrics`` to 13.8 MB);
- before the concurrency limit: a client that sends its body slowly holds no slot while we wait,
  and gets 408 once ``LIBROBOT_BODY_TIMEOUT_S`` has passed;
- before anything parses or batches: a rejected request costs no model time.

What it refuses it answers itself with ``{"error": ...}``, one log line, and one count in
``librobot_rejected_requests_total{status}`` (bounded labels). Health and metrics routes stay open
so orchestrators can probe a token-protected service.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
from pathlib import Path
from typing import Any

TOKEN_ENV = "LIBROBOT_API_TOKEN"
MAX_BYTES_ENV = "LIBROBOT_MAX_REQUEST_BYTES"
BODY_TIMEOUT_ENV = "LIBROBOT_BODY_TIMEOUT_S"
DEFAULT_MAX_BYTES = 8 * 2**20
DEFAULT_BODY_TIMEOUT_S = 10.0
OPEN_PATHS = ("/livez", "/readyz", "/healthz", "/metrics")
JSON_TYPES = ("", "application/json")  # BentoML reads a request without a content type as JSON
logger = logging.getLogger("librobot.serving")


class RequestGuard:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.token = os.environ.get(TOKEN_ENV) or None
        self.max_bytes = int(os.environ.get(MAX_BYTES_ENV) or DEFAULT_MAX_BYTES)
        self.body_timeout = float(os.environ.get(BODY_TIMEOUT_ENV) or DEFAULT_BODY_TIMEOUT_S)
        self._known: frozenset[str] | None = None
        self._rejected: Any = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path not in self.known_paths():
            await self._reject(scope, send, 404, "no such route; the service has POST /act, POST /metadata")
            return
        if path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.token is not None:
            given = headers.get("authorization", "")
            expected = f"Bearer {self.token}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                reason = "missing" if not given else "wrong"
                message = f"{reason} bearer token: send 'Authorization: Bearer <token>' ({TOKEN_ENV})"
                await self._reject(scope, send, 401, message)
                return
        if scope["method"] == "POST":
            media_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type not in JSON_TYPES:
                message = f"content-type {media_type!r} is not accepted; send application/json"
                await self._reject(scope, send, 415, message)
                return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            message = f"request body is {declared} bytes; the limit is {self.max_bytes} ({MAX_BYTES_ENV})"
            await self._reject(scope, send, 413, message)
            return
        # read the body here, bounded in size and time, so a chunked upload cannot exceed the limit
        # and a client that stalls mid-body is cut off instead of holding a worker
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        body, more = b"", True
        while more:
            try:
                event = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                text = f"request body not received within {self.body_timeout:g} s ({BODY_TIMEOUT_ENV})"
                await self._reject(scope, send, 408, text)
                return
            if event["type"] == "http.disconnect":
                return
            body += event.get("body", b"")
            more = event.get("more_body", False)
            if len(body) > self.max_bytes:
                text = f"request body exceeds the limit of {self.max_bytes} bytes ({MAX_BYTES_ENV})"
                await self._reject(scope, send, 413, text)
                return
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def known_paths(self) -> frozenset[str]:
        """The app's routes (exact paths) and the files of its static mounts; computed once."""
        if self._known is None:
            known = set(OPEN_PATHS)
            for route in getattr(self.app, "routes", ()):
                path = getattr(route, "path", None)
                if not path:
                    continue
                directory = getattr(getattr(route, "app", None), "directory", None)
                if directory is not None:  # a StaticFiles mount: its files, not every path below it
                    root = Path(directory)
                    known.update(f"{path}/{f.relative_to(root).as_posix()}" for f in root.rglob("*") if f.is_file())
                elif "{" not in path:
                    known.add(path)
            self._known = frozenset(known)
        return self._known

    async def _reject(self, scope: dict, send: Any, status: int, message: str) -> None:
        path = scope["path"]
        shown = path if len(path) <= 120 else f"{path[:120]}..."
        client = (scope.get("client") or ("?", 0))[0]
        logger.info("%d %s %s from %s: %s", status, scope["method"], shown, client, message)
        self._count(status)
        payload = json.dumps({"error": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if status in (408, 413):  # the rest of the body is never read: the connection cannot be reused
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _count(self, status: int) -> None:
        try:
            if self._rejected is None:
                import bentoml

                self._rejected = bentoml.metrics.Counter(
                    name="librobot_rejected_requests",
                    documentation="Requests refused by the guard before BentoML saw them, by status",
                    labelnames=["status"],
                )
            self._rejected.labels(status=str(status)).inc()
        except Exception:  # metrics are best effort; the rejection itself must go out
            logger.debug("could not count a rejected request", exc_info=True)
