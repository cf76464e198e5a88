"""The query both variants run: a user row, from a query that keeps its connection QUERY_MS."""

import os

QUERY_S = int(os.environ.get("QUERY_MS", "100")) / 1000
USER = "SELECT id, name, email FROM users, (SELECT pg_sleep($2)) AS slow WHERE id = $1"
