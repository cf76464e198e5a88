"""Fix, keeping the sync email client: run it on a thread pool of its own, so the tasks queue
there and the request threadpool stays for the `def` endpoints."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi import BackgroundTasks

from apps.background_tasks.mail import add_report_route, send_welcome_sync
from apps.common import make_app

app = make_app("background-tasks: fix_executor")
add_report_route(app)
MAIL_THREADS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="mail")


async def send_welcome_off_pool(user_id: int) -> None:
    await asyncio.get_running_loop().run_in_executor(MAIL_THREADS, send_welcome_sync, user_id)


@app.post("/signup/{user_id}")
async def signup(user_id: int, tasks: BackgroundTasks) -> dict[str, object]:
    tasks.add_task(send_welcome_off_pool, user_id)  # an async task: its thread comes from MAIL_THREADS
    return {"id": user_id, "status": "created"}
