"""A planted regression for the CI gate's test: the awaiting fix with a blocking call added back."""

import time

from apps.common import make_app

app = make_app("planted regression")


@app.get("/work")
async def work() -> dict[str, object]:
    time.sleep(0.03)  # the regression: the loop stops for 30 ms per request
    return {"ok": True, "waited_ms": 1}
