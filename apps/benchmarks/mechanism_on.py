"""The same endpoint with the sampling on: a 10 ms loop-lag timer and the threadpool read at
/_lab/mechanism (apps/common.py), as loop-blocking and threadpool-exhaustion run it."""

import os

os.environ["LAB_MECHANISM"] = "1"

from apps.base_http_middleware.fix_pure_asgi import app

__all__ = ["app"]
