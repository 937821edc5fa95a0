"""ASGI middleware in front of the service: bearer-token auth and a request size limit.

It runs per request before BentoML parses or batches anything, so a rejected request costs no
model time and cannot fail requests batched with it. Health and metrics routes stay open so
orchestrators can probe a token-protected service.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

TOKEN_ENV = "LIBROBOT_API_TOKEN"
MAX_BYTES_ENV = "LIBROBOT_MAX_REQUEST_BYTES"
DEFAULT_MAX_BYTES = 8 * 2**20
OPEN_PATHS = ("/livez", "/readyz", "/healthz", "/metrics")


class RequestGuard:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.token = os.environ.get(TOKEN_ENV) or None
        self.max_bytes = int(os.environ.get(MAX_BYTES_ENV) or DEFAULT_MAX_BYTES)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.token is not None:
            given = headers.get("authorization", "")
            expected = f"Bearer {self.token}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                reason = "missing" if not given else "wrong"
                await _reply(send, 401, f"{reason} bearer token: send 'Authorization: Bearer <token>' ({TOKEN_ENV})")
                return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _reply(
                send, 413, f"request body is {declared} bytes; the limit is {self.max_bytes} ({MAX_BYTES_ENV})"
            )
            return
        # read the body here (bounded) so a chunked upload cannot exceed the limit either
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await _reply(send, 413, f"request body exceeds the limit of {self.max_bytes} bytes ({MAX_BYTES_ENV})")
                return
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reply(send: Any, status: int, message: str) -> None:
    payload = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
