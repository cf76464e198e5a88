"""The upstream service the lab starts for scenarios that call other services.

Run as its own process (`python -m lab.drive.upstream_server --port P --control-port C`), on loopback.
It answers any `GET`/`POST` on the data port with a small JSON body after a configurable latency,
and fails, hangs (holds requests unanswered until the hang ends) or refuses connections, as told. It counts what it sees: requests, connections accepted,
connections open now, and the `Idempotency-Key` of every request it answered 200: the writes it
took, so the lab can match them against the writes the app confirmed to its clients (lost, or
taken twice). A write is taken when it is answered: one whose client is gone before that (killed
mid-request) is aborted, as a transactional service rolls back a request whose connection dropped
before it committed; the client never learnt it was taken, so it cannot count on it either. Only the standard library: it must start fast and stay out of the way.

Control (separate port, never counted): `GET /stats`; `GET /keys`; `POST /config` with a JSON mode
(a new cell: the keys are cleared too);
`POST /arm` with `{"t0": <unix time>, "schedule": [{"from_s", "until_s", ...mode}]}` to apply
modes during windows measured from t0 (fault injection during a run).

A mode: `{"latency_ms": 20, "latency_p99_ms": 60, "error_rate": 0.0, "hang": false, "refuse": false}`.
Latency is log-normal with the given median and p99 (fixed when no p99 is given).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import time
from typing import Any

Z99 = 2.326  # the standard normal's 99th percentile
DEFAULT_MODE: dict[str, Any] = {
    "latency_ms": 0.0,
    "latency_p99_ms": None,
    "error_rate": 0.0,
    "hang": False,
    "refuse": False,
}


class UpstreamServer:
    def __init__(self, host: str, port: int, seed: int) -> None:
        self.host, self.port = host, port
        self.rng = random.Random(seed)
        self.base: dict[str, Any] = dict(DEFAULT_MODE)
        self.schedule: list[dict[str, Any]] = []
        self.t0: float | None = None
        self.stats = {
            "requests": 0,
            "errors_sent": 0,
            "connections_opened": 0,
            "connections_open": 0,
            "inflight": 0,
            "hanging": 0,
            "refusing": 0,
            "writes_aborted": 0,
        }
        self.server: asyncio.Server | None = None
        self.keys: list[str] = []  # in the order taken, repeats included

    def mode(self) -> dict[str, Any]:
        if self.t0 is not None:
            elapsed = time.time() - self.t0
            for window in self.schedule:
                if window["from_s"] <= elapsed < window["until_s"]:
                    return {**self.base, **{k: v for k, v in window.items() if k in DEFAULT_MODE}}
        return self.base

    def hang_left_s(self) -> float:
        """Until the current hang's scheduled end (at least 10 ms): one wake-up per held request, not
        one every 10 ms, which with a thousand requests held (a retrying client) burnt the
        generator's core that the upstream shares."""
        elapsed = time.time() - (self.t0 or time.time())
        ends = [w["until_s"] for w in self.schedule if w.get("hang") and w["from_s"] <= elapsed < w["until_s"]]
        return max(0.01, min(ends) - elapsed) if ends else 0.01

    def latency_s(self, mode: dict[str, Any]) -> float:
        median = float(mode["latency_ms"]) / 1000
        p99 = mode.get("latency_p99_ms")
        if not median or not p99 or p99 <= mode["latency_ms"]:
            return median
        sigma = math.log(float(p99) / float(mode["latency_ms"])) / Z99
        return median * math.exp(self.rng.gauss(0.0, sigma))

    async def listen(self) -> None:
        self.server = await asyncio.start_server(self.handle, self.host, self.port, reuse_address=True, backlog=1024)

    async def watch_refusals(self) -> None:
        """Refusing means no listener at all (the client sees ECONNREFUSED), so the socket is closed."""
        while True:
            refuse = bool(self.mode()["refuse"])
            if refuse and self.server is not None:
                self.server.close()
                self.server = None
            elif not refuse and self.server is None:
                await self.listen()
            self.stats["refusing"] = int(refuse)
            await asyncio.sleep(0.01)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats["connections_opened"] += 1
        self.stats["connections_open"] += 1
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    return
                method, path, _, key = request
                self.stats["requests"] += 1
                self.stats["inflight"] += 1
                try:
                    mode = self.mode()
                    if mode["hang"]:
                        # Held without an answer for as long as the hang lasts, then answered late:
                        # a client without a timeout waits exactly that long.
                        self.stats["hanging"] += 1
                        try:
                            while (mode := self.mode())["hang"]:
                                await asyncio.sleep(self.hang_left_s())
                        finally:
                            self.stats["hanging"] -= 1
                    if key:
                        if not await self.wait_unless_gone(self.latency_s(mode), reader, writer):
                            self.stats["writes_aborted"] += 1
                            return
                    else:
                        await asyncio.sleep(self.latency_s(mode))
                    if self.rng.random() < float(mode["error_rate"]):
                        self.stats["errors_sent"] += 1
                        await respond(writer, 503, {"error": "injected by the lab's upstream"})
                    else:
                        await respond(writer, 200, {"path": path, "method": method, "source": "upstream"})
                        if key:
                            self.keys.append(key)
                finally:
                    self.stats["inflight"] -= 1
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.stats["connections_open"] -= 1
            writer.close()

    async def wait_unless_gone(
        self, seconds: float, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Sleep `seconds`, or less if the client goes away (its end closed, or reset): False then.
        Checked every 10 ms, and only for writes: a read has nothing to abort."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if reader.at_eof() or writer.transport.is_closing():
                return False
            await asyncio.sleep(min(left, 0.01))
        return not (reader.at_eof() or writer.transport.is_closing())

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (request := await read_request(reader)) is not None:
                method, path, body, _ = request
                if method == "GET" and path == "/stats":
                    await respond(writer, 200, {**self.stats, "mode": self.mode(), "t0": self.t0})
                elif method == "GET" and path == "/keys":
                    await respond(writer, 200, {"keys": self.keys})
                elif method == "POST" and path == "/config":
                    self.base = {**DEFAULT_MODE, **json.loads(body or b"{}")}
                    self.keys = []
                    await respond(writer, 200, self.base)
                elif method == "POST" and path == "/arm":
                    data = json.loads(body or b"{}")
                    self.t0, self.schedule = float(data["t0"]), list(data.get("schedule", []))
                    await respond(writer, 200, {"t0": self.t0, "windows": len(self.schedule)})
                else:
                    await respond(writer, 404, {"error": f"no control route {method} {path}"})
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, KeyError):
            return
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes, str] | None:
    """One HTTP/1.1 request: (method, path, body, idempotency key or ""), or None when the client
    closed the connection."""
    line = await reader.readline()
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    length, key = 0, ""
    while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "idempotency-key":
            key = value.strip()
    body = await reader.readexactly(length) if length else b""
    return method, path, body, key


async def respond(writer: asyncio.StreamWriter, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}.get(status, "OK")
    head = f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()


async def main(host: str, port: int, control_port: int, mode: dict[str, Any], seed: int) -> None:
    upstream = UpstreamServer(host, port, seed)
    upstream.base = {**DEFAULT_MODE, **mode}
    await upstream.listen()
    await asyncio.start_server(upstream.control, host, control_port, reuse_address=True)
    await upstream.watch_refusals()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--mode", default="{}", help="the base mode, as JSON (empty: the default mode)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port, args.control_port, json.loads(args.mode or "{}"), args.seed))
