from sqlalchemy import Column, Integer

from models import Base


class Foo(Base):
    __tablename__ = "foo"

    id = Column(Integer, primary_key=True)
