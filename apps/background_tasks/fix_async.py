"""Fix: an async background task with an async client: it waits on the event loop, holding no
thread, so the threadpool stays for the `def` endpoints."""

from fastapi import BackgroundTasks, Request

from apps.background_tasks.mail import add_report_route, send_welcome_async
from apps.common import aiohttp_session, make_app

app = make_app("background-tasks: fix_async", aiohttp_session(connections=200, timeout_s=5))
add_report_route(app)


@app.post("/signup/{user_id}")
async def signup(user_id: int, tasks: BackgroundTasks, request: Request) -> dict[str, object]:
    tasks.add_task(send_welcome_async, request.app.state.session, user_id)  # awaited on the loop
    return {"id": user_id, "status": "created"}
