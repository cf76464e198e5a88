"""Fix, as a server setting: the same app, served with `uvicorn --limit-concurrency N` (the
scenario's `variant_flags`). uvicorn answers 503 at once when it holds N connections or N
requests in progress: open keep-alive connections count against the limit, idle or not."""

from apps.load_shedding.service import user_service

app = user_service("load-shedding: fix_limit_concurrency")
