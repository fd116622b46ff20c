from sqlalchemy.orm import declarative_base


def test_declarative_base_imports():
    pass
