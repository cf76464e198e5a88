"""A sync SQLAlchemy engine (psycopg 3) shared by both variants; endpoints are `def`, in the threadpool."""

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from apps.common import database_url

engine = create_engine(database_url("postgresql+psycopg"), pool_size=10, max_overflow=0)
Session = sessionmaker(engine)
PAGE = 20  # users per page
