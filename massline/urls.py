"""URL converters shared by every route."""

from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

# Every `<int:…>` in massline's routes is a row id in a 32-bit integer column.
MAX_ID = 2**31 - 1


class RowId(IntegerConverter):
    """`<int:…>`: an id beyond the 32-bit columns is a 404 at once, never a database query.

    PostgreSQL refuses such a number as a parameter with an error (a 500); SQLite silently
    finds nothing. Answering in the URL map treats both alike, for every route at once. It
    raises NotFound rather than refusing the match, which would turn into a 405 wherever
    another method's route has the same path.
    """

    def to_python(self, value: str) -> int:
        """The id, or 404 when no row can have it."""
        number = super().to_python(value)
        if number > MAX_ID:
            raise NotFound()
        return number
