"""Fix: eager-load the relationship: one query for the page, one `IN (...)` query for all orders."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from apps.common import make_app
from apps.models import User
from apps.n_plus_one.db import PAGE, Session

app = make_app("n-plus-one: fix_selectinload")


@app.get("/users")
def users(page: int = 0) -> list[dict[str, object]]:
    with Session() as session:
        query = select(User).options(selectinload(User.orders)).order_by(User.id).offset(page * PAGE).limit(PAGE)
        return [
            {"id": u.id, "name": u.name, "orders": len(u.orders), "total_cents": sum(o.total_cents for o in u.orders)}
            for u in session.scalars(query)
        ]
