"""Healthy, but /work answers something other than what the scenario verifies."""

from apps.common import make_app

app = make_app("wrong answer")


@app.get("/work")
async def work() -> dict[str, object]:
    return {"ok": False, "waited_ms": 0}
