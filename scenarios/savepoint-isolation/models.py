"""The model under test, built with plain SQLAlchemy or, when Flask-SQLAlchemy is
installed (the `flavor = flask` venvs), with Flask-SQLAlchemy as in the seed's app."""
import os

import sqlalchemy as sa

try:
    import flask_sqlalchemy
except ImportError:
    flask_sqlalchemy = None

FLAVOR = "flask" if flask_sqlalchemy else "plain"
# A file-backed database in the cell's working folder, as in the seed's gist: the
# test's connection and any other pooled connection see the same data.
DB_PATH = os.path.abspath("isolation.sqlite")
DB_URL = "sqlite:///" + DB_PATH

if FLAVOR == "flask":
    from flask import Flask

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = DB_URL
    db = flask_sqlalchemy.SQLAlchemy(app)

    class User(db.Model):
        __tablename__ = "users"
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(50), nullable=False)

    metadata = db.metadata
else:
    try:
        from sqlalchemy.orm import declarative_base
    except ImportError:  # SQLAlchemy 1.3
        from sqlalchemy.ext.declarative import declarative_base

    Base = declarative_base()

    class User(Base):
        __tablename__ = "users"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(50), nullable=False)

    metadata = Base.metadata
