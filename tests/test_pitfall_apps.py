"""What a fix keeps or gives up, shown on the apps themselves."""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib import import_module
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from apps.response_model_large_list.data import USERS, UserOut, UserRow
from apps.response_model_large_list.fix_typeadapter import PUBLIC
from apps.unbounded_request_body import storage

LIST_VARIANTS = ["bad", "bad_return_type", "bad_no_model", "fix_typeadapter", "fix_paginated"]


def test_the_rows_carry_a_secret_that_a_naive_dump_leaks() -> None:
    # Serializing the rows as they are leaks the hash: keeping it out is someone's job.
    assert "password_hash" in json.dumps([vars(user) for user in USERS[:3]])


@pytest.mark.parametrize("variant", LIST_VARIANTS)
def test_every_list_variant_keeps_the_secret_out(variant: str) -> None:
    # Each keeps it out by a different means: the model (bad, bad_return_type), the fields listed
    # by hand (bad_no_model), the public model's serializer (fix_typeadapter).
    app = import_module(f"apps.response_model_large_list.{variant}").app
    body = TestClient(app).get("/users").json()
    assert body[0] == {"id": 0, "name": "user 0", "email": "user0@example.com", "plan": "free"}
    assert all("password_hash" not in row for row in body)
    assert len(body) == (100 if variant == "fix_paginated" else len(USERS))


def test_the_typeadapter_fix_gives_up_validation() -> None:
    # What fix_typeadapter trades for its speed: a row of the wrong type is not refused (as the
    # response model refuses it with a 500) but serialized as it is, with a warning.
    broken = UserRow(1)
    broken.id = "not a number"  # type: ignore[assignment]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = json.loads(PUBLIC.dump_json([broken]))
    assert body[0]["id"] == "not a number"
    assert caught, "pydantic warns about the unexpected value"
    with pytest.raises(ValueError):
        UserOut.model_validate(broken)


UPLOAD_VARIANTS = ["bad", "fix_stream", "fix_limit"]


@pytest.mark.parametrize("variant", UPLOAD_VARIANTS)
def test_every_upload_variant_answers_the_size_and_digest_of_what_it_got(
    variant: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = import_module(f"apps.unbounded_request_body.{variant}")
    monkeypatch.setattr(storage, "HANDOFF_S", 0.0)
    if hasattr(module, "UPLOAD_DIR"):
        monkeypatch.setattr(module, "UPLOAD_DIR", str(tmp_path))
    app = module.app
    body = bytes(range(256)) * 4096  # 1 MB
    answer = TestClient(app).put("/upload", content=body)
    assert answer.status_code == 200
    assert answer.json() == {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    assert list(tmp_path.iterdir()) == []  # spool files are gone once handed off


def test_the_limit_refuses_by_content_length_and_by_count_but_not_under_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.unbounded_request_body import fix_limit

    monkeypatch.setattr(fix_limit, "MAX_UPLOAD_BYTES", 1000)
    client = TestClient(fix_limit.app)
    assert client.put("/upload", content=b"x" * 1000).status_code == 200
    declared = client.put("/upload", content=b"x" * 1001)
    assert declared.status_code == 413 and "1000 bytes" in declared.json()["detail"]
    # A chunked body declares no length: the count refuses it once it passes the limit.
    chunked = client.put("/upload", content=iter([b"x" * 600, b"x" * 600]))
    assert chunked.status_code == 413


def test_the_shedding_middleware_refuses_past_its_limit_at_once_and_admits_again_when_below() -> None:
    import asyncio

    import httpx
    from starlette.types import Receive, Scope, Send

    from apps.load_shedding.fix_shed import ShedLoad

    release = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def scenario() -> None:
        shed = ShedLoad(slow, limit=2)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=shed), base_url="http://lab") as client:
            held = [asyncio.create_task(client.get("/")) for _ in range(2)]
            while shed.in_progress < 2:
                await asyncio.sleep(0)
            refused = await client.get("/")  # answered while the two admitted ones still wait
            assert (refused.status_code, refused.headers["retry-after"]) == (503, "1")
            release.set()
            assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
            assert shed.in_progress == 0 and (await client.get("/")).status_code == 200

    asyncio.run(scenario())
