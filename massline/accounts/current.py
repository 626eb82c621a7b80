"""Who is making the request: a browser session or a bearer token."""

from __future__ import annotations

from flask import Flask, g, request, session

from massline.accounts.models import User
from massline.accounts.service import user_for_token
from massline.errors import Unauthorized
from massline.extensions import db


def bearer_token() -> str | None:
    """The token from an `Authorization: Bearer …` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def load_user() -> None:
    """Put the requesting user (or None) on `g.user`."""
    g.user = None
    g.via_token = False
    token = bearer_token()
    if token is not None:
        g.user = user_for_token(db.session, token)
        g.via_token = True
        if g.user is None:
            raise Unauthorized()
        return
    user_id = session.get("user_id")
    if isinstance(user_id, int):
        user = db.session.get(User, user_id)
        if user is not None and user.is_active:
            g.user = user
        else:
            session.pop("user_id", None)


def current_user() -> User | None:
    """The signed-in user, or None."""
    return g.get("user")


def signed_in() -> User:
    """The signed-in user, or Unauthorized."""
    user = current_user()
    if user is None:
        raise Unauthorized()
    return user


def init_app(app: Flask) -> None:
    """Load the user before every request and expose it to templates."""
    app.before_request(load_user)

    @app.context_processor
    def _user_context() -> dict:
        return {"user": current_user()}
