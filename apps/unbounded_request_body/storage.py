"""What every variant does with an accepted upload: hand it to storage (an object store, say).

The hand-off takes HANDOFF_S seconds (env, default 0.3) of waiting on the network, the same for
every variant; what differs is what the server holds meanwhile: the whole body, or a file.
"""

import asyncio
import os
import tempfile

HANDOFF_S = float(os.environ.get("HANDOFF_S", "0.3"))
# Where the streaming fixes spool uploads (deleted once handed off).
UPLOAD_DIR = os.environ.get("UPLOAD_DIR", tempfile.gettempdir())
# The fix_limit variant's ceiling on one upload.
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(16 * 2**20)))


async def hand_off(source: bytes | str) -> None:
    """Send the upload (its bytes, or the path of its spool file) on to storage."""
    await asyncio.sleep(HANDOFF_S)
