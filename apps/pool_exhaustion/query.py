"""The query both variants run: a user row, from a query that keeps its connection QUERY_MS; and the
route that tells the lab each worker's pool size, for the report's connection budget."""

import os

from fastapi import FastAPI

QUERY_S = int(os.environ.get("QUERY_MS", "100")) / 1000
USER = "SELECT id, name, email FROM users, (SELECT pg_sleep($2)) AS slow WHERE id = $1"


def publish_pool_size(app: FastAPI, max_size: int) -> None:
    """`/lab/pool`: this worker's pool size; the lab multiplies it by the workers against max_connections."""

    async def pool() -> dict[str, int]:
        return {"max_size": max_size}

    app.add_api_route("/lab/pool", pool, include_in_schema=False)
