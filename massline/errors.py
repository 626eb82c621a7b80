"""One error vocabulary: domain exceptions, mapped to HTTP once, as JSON or as a page."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A refusal the user can act on; subclasses fix the HTTP status and code."""

    status = 400
    code = "bad_request"
    default_message: Any = _l("The request could not be processed.")

    def __init__(self, message: Any = None, fields: dict[str, Any] | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.fields = fields or {}
        super().__init__(str(self.message))


class ValidationError(DomainError):
    """Input that does not parse or breaks a rule."""

    status = 422
    code = "invalid"
    default_message = _l("Some fields are not valid.")


class NotFound(DomainError):
    """An id that does not exist (or that the user may not see)."""

    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class Unauthorized(DomainError):
    """No or bad credentials."""

    status = 401
    code = "unauthorized"
    default_message = _l("Please sign in first.")


class Forbidden(DomainError):
    """Signed in, but this role or locality may not do this."""

    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do this.")


class Conflict(DomainError):
    """The action clashes with the current state (a stage, a status, a duplicate)."""

    status = 409
    code = "conflict"
    default_message = _l("This cannot be done in the current state.")


HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please sign in first."),
    403: _l("You are not allowed to do this."),
    404: _l("Not found."),
    405: _l("This method is not allowed here."),
    413: _l("The upload is too large."),
    415: _l("This content type is not supported."),
    429: _l("Too many requests. Please wait and try again."),
    500: _l("Something went wrong on our side. Please try again later."),
}


def wants_json() -> bool:
    """API paths and clients that prefer JSON get JSON errors."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(
    status: int, code: str, message: Any, fields: dict[str, Any] | None = None
) -> tuple[Response | str, int]:
    """Render one error as JSON or as a page, in the user's language."""
    fields_out = {name: str(text) for name, text in (fields or {}).items()}
    if wants_json():
        body = {"error": {"code": code, "message": str(message), "fields": fields_out}}
        return jsonify(body), status
    page = render_template("error.html", status=status, message=str(message), fields=fields_out)
    return page, status


def init_app(app: Flask) -> None:
    """Register the handlers that turn exceptions into responses."""

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):  # noqa: ANN202
        from massline.extensions import db

        db.session.rollback()
        return error_response(error.status, error.code, error.message, error.fields)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # noqa: ANN202
        return error_response(
            400, "csrf", _l("The form has expired or was not sent from this site. Reload it.")
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # noqa: ANN202
        status = error.code or 500
        message = HTTP_MESSAGES.get(status, error.description)
        code = (error.name or "error").lower().replace(" ", "_")
        response, status = error_response(status, code, message)
        if status == 429 and error.get_response().headers.get("Retry-After"):
            response = app.make_response((response, status))
            response.headers["Retry-After"] = error.get_response().headers["Retry-After"]
        return response, status

    @app.errorhandler(UnicodeDecodeError)
    def _encoding(error: UnicodeDecodeError):  # noqa: ANN202
        return error_response(400, "encoding", _l("The text is not valid UTF-8."))
