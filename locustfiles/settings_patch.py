"""Load for partial-update: paced users, each one user, changing one setting at a time. Nobody
else changes that user's settings, so after each update they must hold every value this user set
last; anything else is a failure, with what was stored.

    locust -f locustfiles/settings_patch.py -H http://127.0.0.1:8000
"""

from __future__ import annotations

import itertools
import random

from _common import PacedUser
from locust import task

THEMES, LANGUAGES = ["light", "dark", "contrast"], ["en", "fr", "de", "ja"]
_ids = itertools.count(1)


class Account(PacedUser):
    def on_start(self) -> None:
        self.user_id = next(_ids)  # one user per Locust user: nobody else changes its settings
        self.expected = {"theme": "light", "language": "en", "newsletter": False}
        super().on_start()

    @task
    def change_one_setting(self) -> None:
        field, value = random.choice(
            [
                ("theme", random.choice(THEMES)),
                ("language", random.choice(LANGUAGES)),
                ("newsletter", random.random() < 0.5),
            ]
        )
        self.expected[field] = value
        path = f"/users/{self.user_id}/settings"
        with self.client.patch(path, json={field: value}, name="/users/{id}/settings", catch_response=True) as response:
            got = response.json() if response.status_code == 200 else None
            if got != self.expected:
                response.failure(f"sent {{{field!r}: {value!r}}}; settings now {got}, expected {self.expected}")
