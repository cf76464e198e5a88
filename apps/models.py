"""SQLAlchemy 2 mapping of the lab's seed data set (lab/drive/services/seed.py), for the ORM pitfalls."""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    email: Mapped[str]
    orders: Mapped[list["Order"]] = relationship(back_populates="user", order_by="Order.id")


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    total_cents: Mapped[int]
    created_at: Mapped[datetime]
    user: Mapped[User] = relationship(back_populates="orders")


def order_fields(order: Order) -> dict[str, int]:
    """An order as the order routes answer it."""
    return {"id": order.id, "user_id": order.user_id, "total_cents": order.total_cents}
