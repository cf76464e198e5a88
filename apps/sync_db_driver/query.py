"""The query every variant runs: a user's order summary that takes QUERY_MS in the database."""

import os

QUERY_MS = int(os.environ.get("QUERY_MS", "20"))
QUERY_S = QUERY_MS / 1000

# pg_sleep in FROM runs once per query: a stand-in for a query that really works for QUERY_MS.
SUMMARY = """
SELECT count(*)::int, coalesce(sum(total_cents), 0)::bigint
FROM orders, (SELECT pg_sleep({param})) AS slow
WHERE user_id = {user}
"""
SUMMARY_PSYCOPG = SUMMARY.format(param="%s", user="%s")
SUMMARY_ASYNCPG = SUMMARY.format(param="$2", user="$1")
