"""What every variant shares: the welcome email (a call to the email provider, the lab's upstream,
which answers after its configured latency), in its sync and async forms, and the neighbour: a
quick `def` endpoint that needs one of the request threadpool's 40 threads."""

import aiohttp
import requests
from fastapi import FastAPI

from apps.common import UPSTREAM_URL


def send_welcome_sync(user_id: int) -> None:
    requests.post(f"{UPSTREAM_URL}/emails", json={"to": user_id, "template": "welcome"}, timeout=5)


async def send_welcome_async(session: aiohttp.ClientSession, user_id: int) -> None:
    async with session.post("/emails", json={"to": user_id, "template": "welcome"}) as answer:
        await answer.read()


def add_report_route(app: FastAPI) -> None:
    @app.get("/report")
    def report() -> dict[str, int]:  # a def endpoint: it runs on a thread of the same threadpool
        return {"total": sum(range(1000))}
