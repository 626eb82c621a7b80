"""The policy domains shipped with massline (kept as data, editable by administrators)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from massline.priorities.models import Category

# The seven first-level domains that Chinese government message boards use.
DEFAULT_CATEGORIES = (
    ("urban_rural", "城乡建设", "Urban and rural development"),
    ("labour_social", "劳动和社会保障", "Labour and social security"),
    ("education_culture", "教育文体", "Education, culture and sport"),
    ("commerce_tourism", "商贸旅游", "Commerce and tourism"),
    ("environment", "环境保护", "Environmental protection"),
    ("health", "卫生计生", "Health and family planning"),
    ("transport", "交通运输", "Transport"),
)


def ensure_categories(session: Session) -> int:
    """Create the default categories that are missing; returns how many were added."""
    existing = set(session.scalars(select(Category.slug)))
    added = 0
    for position, (slug, name_zh, name_en) in enumerate(DEFAULT_CATEGORIES):
        if slug not in existing:
            session.add(Category(slug=slug, name_zh=name_zh, name_en=name_en, position=position))
            added += 1
    session.flush()
    return added


def slug_for_label(label: str) -> str | None:
    """The category slug for a Chinese domain name, if it is one of ours."""
    for slug, name_zh, _name_en in DEFAULT_CATEGORIES:
        if name_zh == label:
            return slug
    return None
