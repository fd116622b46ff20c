from sqlalchemy import Column, Integer, String

from models import Base


class Baz(Base):
    __tablename__ = "baz"

    id = Column(Integer, primary_key=True)
    name = Column(String(50), index=True)
