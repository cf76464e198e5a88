"""Bad: a sync background task. Starlette runs a `def` task in the request threadpool, the same
40 threads `def` endpoints and sync dependencies need; with the email provider taking 0.5 s, the
tasks hold the threads, and a quick `def` endpoint waits behind them."""

from fastapi import BackgroundTasks

from apps.background_tasks.mail import add_report_route, send_welcome_sync
from apps.common import make_app

app = make_app("background-tasks: bad")
add_report_route(app)


@app.post("/signup/{user_id}")
async def signup(user_id: int, tasks: BackgroundTasks) -> dict[str, object]:
    tasks.add_task(send_welcome_sync, user_id)  # after the response, on one of the 40 threads
    return {"id": user_id, "status": "created"}
