"""The one knob of this pitfall: how long the stand-in SDK call takes (BLOCK_MS, default 20)."""

import os

BLOCK_MS = int(os.environ.get("BLOCK_MS", "20"))
BLOCK_S = BLOCK_MS / 1000
