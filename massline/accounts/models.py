"""Users, their roles, verification codes and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from massline.extensions import db
from massline.localities.models import Locality
from massline.models_common import UTCDateTime, intpk, timestamp

ROLES = ("citizen", "community_worker", "facilitator", "official", "planner", "admin")


class User(db.Model):
    """A person; the phone number is private, the display name is public."""

    __tablename__ = "users"

    id: Mapped[intpk]
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    home_code: Mapped[str] = mapped_column(String(6), ForeignKey("localities.code"), index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a community worker registered this resident in person.
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    locale: Mapped[str | None] = mapped_column(String(8))
    email: Mapped[str | None] = mapped_column(String(254))
    # One email a day with everything new, instead of one email per update.
    email_digest: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[timestamp]

    home: Mapped[Locality] = relationship(lazy="joined")
    roles: Mapped[list[Role]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def is_verified(self) -> bool:
        """Whether the phone number was confirmed."""
        return self.verified_at is not None


class Role(db.Model):
    """A role held over one locality subtree."""

    __tablename__ = "roles"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    scope_code: Mapped[str] = mapped_column(String(6), ForeignKey("localities.code"))
    granted_at: Mapped[timestamp]

    user: Mapped[User] = relationship(back_populates="roles")
    scope: Mapped[Locality] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("user_id", "role", "scope_code"),)


class VerificationCode(db.Model):
    """A one-time code sent by SMS; only its hash is kept."""

    __tablename__ = "verification_codes"

    id: Mapped[intpk]
    phone: Mapped[str] = mapped_column(String(20), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[timestamp]


class ApiToken(db.Model):
    """A bearer token for API clients; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[timestamp]

    user: Mapped[User] = relationship(lazy="joined")
