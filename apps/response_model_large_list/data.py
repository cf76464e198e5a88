"""ORM-like rows (plain objects with attributes, one of them secret) and the public response model."""

import os

from pydantic import BaseModel, ConfigDict

ROWS = int(os.environ.get("ROWS", "5000"))


class UserRow:
    """What an ORM hands back: every column, the password hash included."""

    def __init__(self, i: int) -> None:
        self.id = i
        self.name = f"user {i}"
        self.email = f"user{i}@example.com"
        self.plan = ("free", "team", "enterprise")[i % 3]
        self.password_hash = f"pbkdf2_sha256$600000${i:08x}$secret"


class UserOut(BaseModel):
    """The public shape: no password_hash. Filtering it out is the response model's job."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    email: str
    plan: str


USERS = [UserRow(i) for i in range(ROWS)]
