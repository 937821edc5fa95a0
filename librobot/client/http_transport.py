"""``Transport`` over the BentoML service's HTTP API (``POST /act``, ``POST /metadata``)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import httpx
import numpy as np

from librobot.client.transport import RequestRefused, ServerUnavailable

RETRYABLE_STATUS = (408, 429, 500, 502, 503, 504)


class HttpTransport:
    def __init__(self, url: str, token: str | None = None, connect_timeout: float = 5.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.http = httpx.Client(headers=headers, timeout=httpx.Timeout(60.0, connect=connect_timeout))

    def metadata(self) -> dict[str, Any]:
        return self._post("metadata", {}, timeout=30.0)

    def act(self, observation: Mapping[str, Any], seed: int | None, timeout: float) -> np.ndarray:
        payload = {
            # raw uint8 HWC bytes, base64: ~4x smaller than nested lists
            "images": {
                cam: base64.b64encode(np.ascontiguousarray(img, dtype=np.uint8).tobytes()).decode()
                for cam, img in observation["images"].items()
            },
            "state": np.asarray(observation["state"], dtype=np.float64).tolist(),
            "instruction": str(observation.get("instruction", "")),
            "seed": None if seed is None else int(seed),
        }
        body = self._post("act", {"observations": [payload]}, timeout=timeout)
        return np.asarray(body[0]["actions"], dtype=np.float64)

    def _post(self, endpoint: str, body: dict[str, Any], timeout: float) -> Any:
        try:
            resp = self.http.post(f"{self.url}/{endpoint}", json=body, timeout=timeout)
        except httpx.TimeoutException:
            raise ServerUnavailable(f"POST /{endpoint}: no answer within {timeout:g} s") from None
        except httpx.TransportError as err:
            raise ServerUnavailable(f"POST /{endpoint}: {type(err).__name__}: {err}") from None
        if resp.status_code in RETRYABLE_STATUS:
            raise ServerUnavailable(f"POST /{endpoint} returned {resp.status_code}: {resp.text[:300]}")
        if resp.status_code != 200:
            raise RequestRefused(f"POST /{endpoint} returned {resp.status_code}: {resp.text[:500]}")
        return resp.json()

    def close(self) -> None:
        self.http.close()
