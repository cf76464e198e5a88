"""Fix, with aiohttp's client: the same await as fix_async, the same 100 connections, and a pool
whose cost per request stays flat as requests in flight grow (httpx's grows: encode/httpx#3215)."""

from apps.common import aiohttp_session, make_app

app = make_app("threadpool-exhaustion: fix_aiohttp", aiohttp_session(connections=100, timeout_s=5))


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    async with app.state.session.get(f"/items/{item_id}") as answer:
        body = await answer.json()
    return {"id": item_id, "source": body["source"]}
