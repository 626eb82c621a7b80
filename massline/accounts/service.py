"""Registration, verification, sign-in, tokens and role checks."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, lazyload
from werkzeug.security import check_password_hash, generate_password_hash

from massline.accounts.models import ROLES, ApiToken, Role, User, VerificationCode
from massline.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationError
from massline.localities.models import Locality
from massline.localities.service import get_locality
from massline.models_common import utcnow
from massline.notifications.sms import SmsSender

log = logging.getLogger(__name__)
_PHONE = re.compile(r"1[3-9][0-9]{9}")
# A hash to compare against when the phone is unknown, so timing does not reveal accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalise_phone(raw: str) -> str:
    """A mainland mobile number as 11 digits; accepts spaces, dashes and +86."""
    # NFKC turns full-width digits typed with a Chinese IME into ASCII; the ASCII-only
    # pattern then refuses every other script's digits, which `\d` would let through.
    digits = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", raw or ""))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _PHONE.fullmatch(digits):
        raise ValidationError(fields={"phone": _l("Enter an 11-digit mainland mobile number.")})
    return digits


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    phone: str,
    display_name: str,
    home_code: str,
    password: str | None = None,
    verified: bool = False,
    registered_by: User | None = None,
    email: str | None = None,
    now: datetime | None = None,
) -> User:
    """A new account; Conflict if the phone number is taken."""
    phone = normalise_phone(phone)
    get_locality(session, home_code)
    if session.scalar(select(User.id).where(User.phone == phone)) is not None:
        raise Conflict(
            _l("This phone number is already registered."), fields={"phone": _l("taken")}
        )
    user = User(
        phone=phone,
        display_name=display_name,
        home_code=home_code,
        password_hash=generate_password_hash(password) if password else None,
        verified_at=(now or utcnow()) if verified else None,
        registered_by_id=registered_by.id if registered_by else None,
        email=email,
    )
    session.add(user)
    session.flush()
    return user


def grant_role(session: Session, user: User, role: str, scope_code: str) -> Role:
    """Give a user a role over a locality subtree (idempotent)."""
    if role not in ROLES:
        raise ValidationError(fields={"role": _l("Unknown role.")})
    get_locality(session, scope_code)
    for held in user.roles:
        if held.role == role and held.scope_code == scope_code:
            return held
    granted = Role(user=user, role=role, scope_code=scope_code)
    session.add(granted)
    session.flush()
    return granted


def send_code(session: Session, sender: SmsSender, phone: str, *, ttl_minutes: int) -> None:
    """Send a fresh six-digit code to the phone; older codes stop working."""
    phone = normalise_phone(phone)
    now = utcnow()
    session.execute(
        update(VerificationCode)
        .where(VerificationCode.phone == phone, VerificationCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(
        VerificationCode(
            phone=phone,
            code_hash=_sha256(phone + ":" + code),
            expires_at=now + timedelta(minutes=ttl_minutes),
        )
    )
    sender.send(session, phone, f"【群众路线】您的验证码是 {code}，{ttl_minutes} 分钟内有效。")
    session.flush()


def verify_code(session: Session, phone: str, code: str, *, max_attempts: int) -> User:
    """Check the latest code for this phone and mark its account verified."""
    phone = normalise_phone(phone)
    user = session.scalar(select(User).where(User.phone == phone))
    pending = session.scalar(
        select(VerificationCode)
        .where(VerificationCode.phone == phone, VerificationCode.used_at.is_(None))
        .order_by(VerificationCode.id.desc())
        .limit(1)
    )
    wrong = ValidationError(fields={"code": _l("The code is wrong or has expired.")})
    if user is None or pending is None or pending.expires_at < utcnow():
        raise wrong
    if pending.attempts >= max_attempts:
        raise ValidationError(fields={"code": _l("Too many wrong codes. Ask for a new one.")})
    if not hmac.compare_digest(pending.code_hash, _sha256(phone + ":" + (code or "").strip())):
        pending.attempts += 1
        session.flush()
        raise wrong
    pending.used_at = utcnow()
    if user.verified_at is None:
        user.verified_at = utcnow()
    session.flush()
    return user


def authenticate(session: Session, phone: str, password: str) -> User:
    """The account for this phone and password, or Unauthorized."""
    try:
        phone = normalise_phone(phone)
    except ValidationError:
        phone = ""
    user = session.scalar(select(User).where(User.phone == phone)) if phone else None
    usable = user is not None and user.is_active and user.password_hash is not None
    # Always hash once, so the answer takes as long whether or not the account exists.
    matches = check_password_hash(user.password_hash if usable else _DUMMY_HASH, password or "")
    if not (usable and matches):
        raise Unauthorized(_l("Wrong phone number or password."))
    return user


def issue_token(session: Session, user: User, *, days: int) -> str:
    """A new bearer token; only its hash is stored."""
    raw = secrets.token_urlsafe(32)
    session.add(
        ApiToken(user=user, token_hash=_sha256(raw), expires_at=utcnow() + timedelta(days=days))
    )
    session.flush()
    return raw


def user_for_token(session: Session, raw: str) -> User | None:
    """The active user holding this unexpired token."""
    # One query on every API call: the user without its home's join and roles' second
    # query; both load on first use, and most calls never use them.
    found = session.execute(
        select(User, ApiToken.expires_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _sha256(raw))
        .options(lazyload(User.home), lazyload(User.roles))
    ).first()
    if found is None:
        return None
    user, expires_at = found
    if expires_at < utcnow() or not user.is_active:
        return None
    return user


def user_by_phone(session: Session, phone: str) -> User:
    """The account with this phone number, or NotFound."""
    user = session.scalar(select(User).where(User.phone == normalise_phone(phone)))
    if user is None:
        raise NotFound(fields={"phone": _l("No account has this phone number.")})
    return user


def has_role(user: User | None, role: str, locality: Locality | None = None) -> bool:
    """Whether the user holds `role` (or admin) over a subtree containing `locality`."""
    if user is None:
        return False
    for held in user.roles:
        if held.role in (role, "admin") and (
            locality is None or held.scope.contains(locality.code)
        ):
            return True
    return False


def require_role(user: User | None, role: str, locality: Locality | None = None) -> None:
    """Forbidden unless `has_role`."""
    if user is None:
        raise Unauthorized()
    if not has_role(user, role, locality):
        raise Forbidden()


def lives_in(user: User, locality: Locality) -> bool:
    """Whether the user's home lies in the locality's subtree."""
    return locality.contains(user.home_code)
