"""The pure-ASGI orders endpoint with the lab's in-app mechanism sampling forced off."""

import os

# Before make_app reads it: this variant must not sample, whatever the scenario asks.
os.environ["LAB_MECHANISM"] = "0"

from apps.base_http_middleware.fix_pure_asgi import app

__all__ = ["app"]
