"""What a fix gives up, shown on the apps themselves."""

from __future__ import annotations

import json

from apps.response_model_large_list import fix_preserialized
from apps.response_model_large_list.data import USERS


def test_the_rows_carry_a_secret_that_only_the_model_keeps_out() -> None:
    # Pre-serializing the rows as they are would leak the hash: the filtering is the model's job.
    naive = json.dumps([vars(user) for user in USERS[:3]])
    assert "password_hash" in naive
    # The pre-serialized fix still goes through UserOut, once, so the secret stays out.
    body = json.loads(fix_preserialized.BODY)
    assert len(body) == len(USERS)
    assert all("password_hash" not in row for row in body)
    assert body[0] == {"id": 0, "name": "user 0", "email": "user0@example.com", "plan": "free"}
