"""Fix: paginate: the same response model, over a page of rows (100 by default)."""

from fastapi import Query

from apps.common import make_app
from apps.response_model_large_list.data import USERS, UserOut

app = make_app("response-model-large-list: fix_paginated")


@app.get("/users", response_model=list[UserOut])
async def users(offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=500)) -> list[object]:
    return USERS[offset : offset + limit]
