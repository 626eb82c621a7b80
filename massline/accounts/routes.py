"""Account pages: register, verify, sign in and out, my account."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from massline.accounts import schemas, service
from massline.accounts.api import _login_limit, _phone_key, _verification_limit, send_code
from massline.accounts.current import signed_in
from massline.errors import DomainError
from massline.extensions import db, limiter
from massline.localities.service import ancestors
from massline.parsing import Fields
from massline.priorities.models import Priority

bp = Blueprint("accounts", __name__)
# Deliberately loose: one @, no spaces, a dot in the domain. The mail server decides the rest.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\x00-\x1f\x7f]*")


def _safe_next(target: str | None) -> str:
    """Only local paths are allowed as a redirect after sign-in."""
    # Browsers read "/\host" as "//host" and drop tabs and newlines ("/\t/host"), so
    # backslashes and control characters are refused along with "//".
    if target and _LOCAL_PATH.fullmatch(target):
        return target
    return url_for("web.home")


def _sign_in(user_id: int) -> None:
    session.clear()
    session["user_id"] = user_id
    session.permanent = True


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_verification_limit, key_func=_phone_key, methods=["POST"])
def register() -> object:
    """Sign-up form; on success, text a code and ask for it."""
    form = request.form
    if request.method == "POST":
        try:
            data = schemas.parse_registration(form)
            user = service.create_user(
                db.session,
                phone=data.phone,
                display_name=data.display_name,
                home_code=data.locality_code,
                password=data.password,
            )
            send_code(user.phone)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            return render_template("accounts/register.html", form=form, error=error), error.status
        _sign_in(user.id)
        return redirect(url_for("accounts.verify"))
    return render_template("accounts/register.html", form=form, error=None)


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def verify() -> object:
    """Enter the code texted to the phone."""
    user = signed_in()
    if request.method == "POST":
        if request.form.get("resend"):
            send_code(user.phone)
            db.session.commit()
            flash(_("A new code has been sent."))
            return redirect(url_for("accounts.verify"))
        try:
            service.verify_code(
                db.session,
                user.phone,
                request.form.get("code", ""),
                max_attempts=current_app.config["MASSLINE_CODE_MAX_ATTEMPTS"],
            )
            db.session.commit()
        except DomainError as error:
            db.session.commit()  # keep the counted attempt
            return render_template("accounts/verify.html", error=error), error.status
        flash(_("Your phone number is verified. Welcome!"))
        return redirect(url_for("web.home"))
    return render_template("accounts/verify.html", error=None)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_phone_key, methods=["POST"])
def login() -> object:
    """Sign in with phone number and password."""
    if request.method == "POST":
        try:
            data = schemas.parse_credentials(request.form)
            user = service.authenticate(db.session, data.phone, data.password)
        except DomainError as error:
            return render_template(
                "accounts/login.html", form=request.form, error=error
            ), error.status
        _sign_in(user.id)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form={}, error=None)


@bp.post("/logout")
def logout() -> object:
    """Sign out."""
    session.clear()
    return redirect(url_for("web.home"))


@bp.route("/account", methods=["GET", "POST"])
def account() -> object:
    """My account: name, language, my priorities."""
    user = signed_in()
    if request.method == "POST":
        fields = Fields(request.form)
        name = fields.text("display_name", max_length=schemas.NAME_MAX, min_length=2)
        locale = fields.choice("locale", ("zh_CN", "en"))
        email = fields.optional_text("email", max_length=254)
        if email and not EMAIL.fullmatch(email):
            fields.errors["email"] = _l("Enter an email address like name@example.cn.")
        frequency = fields.choice("email_frequency", ("each", "daily"), required=False)
        fields.check()
        user.display_name = name
        user.locale = locale
        user.email = email
        if frequency is not None:  # a form without the choice keeps the saved one
            user.email_digest = frequency == "daily"
        db.session.commit()
        flash(_("Saved."))
        return redirect(url_for("accounts.account"))
    priorities = db.session.scalars(
        select(Priority)
        .where(or_(Priority.author_id == user.id, Priority.entered_by_id == user.id))
        .order_by(Priority.id.desc())
    ).unique()
    return render_template(
        "accounts/account.html", priorities=priorities, home_chain=ancestors(db.session, user.home)
    )
