"""The CPU work every variant does, of one of two kinds (WORK env):

- `hash`: PBKDF2-SHA256 (hashlib), which releases the GIL while it computes, like bcrypt or numpy;
- `python`: a pure-Python loop, which holds the GIL throughout.
ROUNDS (env) sets the work factor; the scenario sets it.
"""

import hashlib
import os

WORK = os.environ.get("WORK", "hash")
ROUNDS = int(os.environ.get("ROUNDS", "20000"))


def compute(seed: int) -> str:
    if WORK == "hash":
        return hashlib.pbkdf2_hmac("sha256", b"password", seed.to_bytes(8, "big"), ROUNDS).hex()[:16]
    total = 0
    for i in range(ROUNDS * 4):
        total = (total * 31 + i + seed) % 1_000_003
    return f"{total:016x}"
