"""Bad: lazy loading in a list endpoint: one query for the page, then one per user for its orders."""

from sqlalchemy import select

from apps.common import make_app
from apps.models import User
from apps.n_plus_one.db import PAGE, Session

app = make_app("n-plus-one: bad")


@app.get("/users")
def users(page: int = 0) -> list[dict[str, object]]:
    with Session() as session:
        rows = session.scalars(select(User).order_by(User.id).offset(page * PAGE).limit(PAGE))
        return [
            {"id": u.id, "name": u.name, "orders": len(u.orders), "total_cents": sum(o.total_cents for o in u.orders)}
            for u in rows  # u.orders: a lazy load, one more round trip per user
        ]
