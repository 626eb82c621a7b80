"""Account calls of the JSON API."""

from __future__ import annotations

from flask import current_app, jsonify, request

from massline.accounts import schemas, service
from massline.accounts.current import signed_in
from massline.api import bp
from massline.errors import DomainError
from massline.extensions import db, limiter
from massline.notifications.sms import sender_for
from massline.parsing import Fields, request_data


def _phone_key() -> str:
    """Rate-limit codes per phone number as well as per address."""
    try:
        data = request.get_json(silent=True) if request.is_json else request.form
    except RecursionError:  # absurdly nested JSON: the view refuses it; key by address
        data = None
    phone = data.get("phone") if isinstance(data, dict) or hasattr(data, "get") else None
    return f"{request.remote_addr}:{phone if isinstance(phone, str) else ''}"


def _verification_limit() -> str:
    return current_app.config["RATELIMIT_VERIFICATION"]


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def send_code(phone: str) -> None:
    """Send a verification code with the configured SMS sender."""
    service.send_code(
        db.session,
        sender_for(current_app.config["MASSLINE_SMS_SENDER"]),
        phone,
        ttl_minutes=current_app.config["MASSLINE_CODE_TTL_MINUTES"],
    )


@bp.post("/auth/register")
@limiter.limit(_verification_limit, key_func=_phone_key)
def register() -> object:
    """Create an unverified account and text it a code."""
    data = schemas.parse_registration(request_data())
    user = service.create_user(
        db.session,
        phone=data.phone,
        display_name=data.display_name,
        home_code=data.locality_code,
        password=data.password,
    )
    send_code(user.phone)
    db.session.commit()
    return jsonify({"id": user.id, "verified": False}), 201


@bp.post("/auth/send-code")
@limiter.limit(_verification_limit, key_func=_phone_key)
def resend_code() -> object:
    """Text a fresh code to a registered phone number."""
    fields = Fields(request_data())
    phone = fields.text("phone", max_length=20)
    fields.check()
    user = service.user_by_phone(db.session, phone)
    send_code(user.phone)
    db.session.commit()
    return jsonify({"sent": True}), 202


@bp.post("/auth/verify")
@limiter.limit(_login_limit, key_func=_phone_key)
def verify() -> object:
    """Confirm the phone number with the code."""
    data = schemas.parse_code_check(request_data())
    try:
        user = service.verify_code(
            db.session,
            data.phone,
            data.code,
            max_attempts=current_app.config["MASSLINE_CODE_MAX_ATTEMPTS"],
        )
    except DomainError:
        # Keep the counted wrong attempt: the error handler rolls back, which would
        # otherwise allow unlimited guesses.
        db.session.commit()
        raise
    db.session.commit()
    return jsonify({"id": user.id, "verified": True})


@bp.post("/auth/token")
@limiter.limit(_login_limit, key_func=_phone_key)
def token() -> object:
    """Exchange phone and password for a bearer token."""
    data = schemas.parse_credentials(request_data())
    user = service.authenticate(db.session, data.phone, data.password)
    raw = service.issue_token(db.session, user, days=current_app.config["MASSLINE_TOKEN_DAYS"])
    db.session.commit()
    return jsonify({"token": raw, "token_type": "Bearer"})


@bp.get("/me")
def me() -> object:
    """The signed-in user's own details."""
    user = signed_in()
    return jsonify(
        {
            "id": user.id,
            "phone": user.phone,
            "display_name": user.display_name,
            "locality_code": user.home_code,
            "verified": user.is_verified,
            "roles": [{"role": r.role, "scope": r.scope_code} for r in user.roles],
        }
    )
