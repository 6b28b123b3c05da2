"""Sign-in: one message for every failure, a growing lock after repeated failures, deactivated users refused."""

from __future__ import annotations

import pytest

from engine.domain.errors import AuthenticationError, ValidationError
from engine.services import users


def test_wrong_password_and_unknown_user_get_the_same_message(engine):
    users.add_user(engine.uow(), username="ann", roles=["clerk"], password="correct-horse", now=engine.now())
    messages = set()
    for name, password in (("ann", "wrong-password"), ("nobody", "correct-horse")):
        with pytest.raises(AuthenticationError) as refused:
            users.authenticate(engine.uow(), username=name, password=password, now=engine.now())
        messages.add(refused.value.message)
    assert messages == {"wrong username or password"}
    actor = users.authenticate(engine.uow(), username="ann", password="correct-horse", now=engine.now())
    assert actor.username == "ann" and actor.roles == {"clerk"}


def test_repeated_failures_lock_the_username_for_a_growing_time(engine, clock):
    users.add_user(engine.uow(), username="bo", roles=["clerk"], password="correct-horse", now=engine.now())
    for _ in range(users.FREE_FAILURES):
        with pytest.raises(AuthenticationError, match="wrong username"):
            users.authenticate(engine.uow(), username="bo", password="guess", now=engine.now())
    with pytest.raises(AuthenticationError, match="try again in 1 minutes"):
        users.authenticate(engine.uow(), username="bo", password="correct-horse", now=engine.now())
    clock.advance(minutes=1, seconds=1)
    with pytest.raises(AuthenticationError, match="wrong username"):
        users.authenticate(engine.uow(), username="bo", password="guess", now=engine.now())
    with pytest.raises(AuthenticationError, match="try again in 2 minutes"):
        users.authenticate(engine.uow(), username="bo", password="correct-horse", now=engine.now())
    clock.advance(minutes=3)
    assert users.authenticate(engine.uow(), username="bo", password="correct-horse", now=engine.now()).username == "bo"
    with pytest.raises(AuthenticationError, match="wrong username"):  # the count starts again after success
        users.authenticate(engine.uow(), username="bo", password="guess", now=engine.now())


def test_locale_is_remembered_and_validated(engine):
    users.add_user(engine.uow(), username="cy", roles=["clerk"], password="correct-horse", now=engine.now())
    users.set_locale(engine.uow(), username="cy", locale="en")
    assert users.get_actor(engine.uow(), username="cy").locale == "en"
    with pytest.raises(ValidationError):
        users.set_locale(engine.uow(), username="cy", locale="fr")


def test_deactivated_users_cannot_sign_in_or_use_tokens(engine):
    from engine.domain.errors import PermissionDeniedError
    from engine.domain.views import Actor

    admin = Actor("root", frozenset({"admin"}))
    users.add_user(engine.uow(), username="dee", roles=["clerk"], password="correct-horse", now=engine.now())
    token = users.create_token(engine.uow(), username="dee", now=engine.now())
    with pytest.raises(PermissionDeniedError):
        users.deactivate_user(engine.uow(), username="dee", actor=Actor("x", frozenset({"clerk"})), now=engine.now())
    assert not users.deactivate_user(engine.uow(), username="dee", actor=admin, now=engine.now()).is_active
    with pytest.raises(AuthenticationError):
        users.authenticate(engine.uow(), username="dee", password="correct-horse", now=engine.now())
    with pytest.raises(AuthenticationError):
        users.actor_for_token(engine.uow(), token=token)
    with pytest.raises(AuthenticationError):
        users.get_actor(engine.uow(), username="dee")
