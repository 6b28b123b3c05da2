"""Web fixtures: the app on the test engine, users with tokens, an authenticated JSON client."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.services import users
from webui import create_app


@pytest.fixture
def app(engine: Any) -> Any:
    application = create_app(engine=engine)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def tokens(engine: Any) -> dict[str, str]:
    """Bearer headers for root (admin), alice (clerk) and bob (manager)."""
    out = {}
    for name, role in (("root", "admin"), ("alice", "clerk"), ("bob", "manager")):
        users.add_user(engine.uow(), username=name, roles=[role], password="password-" + name, now=engine.now())
        out[name] = users.create_token(engine.uow(), username=name, now=engine.now())
    return out


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
