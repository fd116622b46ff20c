"""Identical tests: each adds one user to an empty table and expects id 1.
test_c rolls back mid-way, as a test of an error path would."""
from models import User


def add_user(session, name):
    user = User(name=name)
    session.add(user)
    session.commit()
    return user


def check(user):
    assert user.id == 1, f"LEAK: expected id 1, got {user.id} ({user.name})"


def test_a_commit(session):
    check(add_user(session, "a"))


def test_b_commit(session):
    check(add_user(session, "b"))


def test_c_rollback_midway(session):
    session.add(User(name="c-discarded"))
    session.flush()
    session.rollback()
    check(add_user(session, "c"))


def test_d_commit(session):
    check(add_user(session, "d"))


def test_e_commit(session):
    check(add_user(session, "e"))
