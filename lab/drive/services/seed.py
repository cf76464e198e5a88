"""The deterministic data set every database variant sees: users, their orders, the orders' items.

Generated inside PostgreSQL with generate_series and integer arithmetic, so the same sizes give
the same rows on every machine, quickly, with no Python random state involved.
"""

from __future__ import annotations

import psycopg

from lab.scenario.models import SeedSize

SCHEMA = """
CREATE TABLE users  (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users(id),
                     total_cents int NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE items  (id int PRIMARY KEY, order_id int NOT NULL REFERENCES orders(id),
                     sku text NOT NULL, qty int NOT NULL, price_cents int NOT NULL);
CREATE INDEX orders_user_id ON orders(user_id);
CREATE INDEX items_order_id ON items(order_id);
"""

# One statement each: psycopg binds parameters server-side, which allows one statement per execute.
FILL = [
    """INSERT INTO users SELECT u, 'user ' || u, 'user' || u || '@example.com' FROM generate_series(1, %(users)s) u""",
    """INSERT INTO orders
  SELECT (u - 1) * %(orders)s + k, u, (u * 7919 + k * 104729) %% 100000,
         timestamptz '2026-01-01 00:00:00+00' + ((u * 31 + k * 17) %% 365) * interval '1 day'
  FROM generate_series(1, %(users)s) u, generate_series(1, %(orders)s) k""",
    """INSERT INTO items
  SELECT (o - 1) * %(items)s + k, o, 'SKU-' || ((o * 13 + k) %% 500), 1 + (o + k) %% 4, 100 + (o * k * 37) %% 9900
  FROM generate_series(1, %(users)s * %(orders)s) o, generate_series(1, %(items)s) k""",
    "ANALYZE",
]


def seed(url: str, size: SeedSize, replace: bool = False) -> dict[str, int]:
    """Create the tables and fill them; returns the row counts. `replace`: a database the lab did
    not create for this run (a target's) may hold these tables from an earlier run: drop them first."""
    with psycopg.connect(url, autocommit=True) as conn:
        if replace:
            conn.execute("DROP TABLE IF EXISTS items, orders, users")
        conn.execute(SCHEMA)
        params = {"users": size.users, "orders": size.orders_per_user, "items": size.items_per_order}
        for statement in FILL:
            conn.execute(statement, params if "%(" in statement else None)
        counts = {}
        for table in ("users", "orders", "items"):
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[table] = int(row[0]) if row else 0
    return counts
