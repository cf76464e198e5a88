"""Load for unbounded-request-body: paced users uploading files, mostly small, now and then large.

A small upload (SMALL_MB, 1 by default) must come back with its size and SHA-256. A large one
(LARGE_MB, 64) either does too, or is refused with 413 (the limit of fix_limit): a refusal is
marked failed with that reason, so what was refused is counted, never mistaken for served.

    locust -f locustfiles/uploads.py -H http://127.0.0.1:8000 --pacing 1
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from _common import PacedUser
from locust import task

MB = 2**20
SMALL = os.urandom(int(float(os.environ.get("SMALL_MB", "1")) * MB))
LARGE = os.urandom(int(float(os.environ.get("LARGE_MB", "64")) * MB))
DIGESTS = {id(body): hashlib.sha256(body).hexdigest() for body in (SMALL, LARGE)}


def _check(response: Any, body: bytes) -> None:
    if response.status_code == 413:
        response.failure("refused: 413 (over the upload limit)")
        return
    if response.status_code != 200:
        response.failure(f"status {response.status_code}")
        return
    answer = response.json()
    if answer.get("bytes") != len(body) or answer.get("sha256") != DIGESTS[id(body)]:
        response.failure(f"the server got {answer.get('bytes')} bytes of {len(body)}, or other bytes")
    else:
        response.success()


class Uploader(PacedUser):
    @task(3)
    def small(self) -> None:
        with self.client.put("/upload", data=SMALL, name=f"/upload {len(SMALL) // MB}MB", catch_response=True) as r:
            _check(r, SMALL)

    @task(1)
    def large(self) -> None:
        with self.client.put("/upload", data=LARGE, name=f"/upload {len(LARGE) // MB}MB", catch_response=True) as r:
            _check(r, LARGE)
