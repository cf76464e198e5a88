"""The list every variant returns: ITEMS rows (env, default 100), built once at import.

Built once so that the variants differ only in how the same data becomes JSON bytes.
"""

import os

from pydantic import BaseModel

ITEMS = int(os.environ.get("ITEMS", "100"))


class Item(BaseModel):
    id: int
    name: str
    price: float
    tags: list[str]
    in_stock: bool
    created: str


ROWS = [
    {
        "id": i,
        "name": f"item {i}",
        "price": round(i * 1.25, 2),
        "tags": ["lab", f"group-{i % 7}", f"size-{i % 3}"],
        "in_stock": i % 2 == 0,
        "created": f"2026-01-{1 + i % 28:02d}T12:00:00Z",
    }
    for i in range(ITEMS)
]
MODELS = [Item(**row) for row in ROWS]
