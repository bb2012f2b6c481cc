"""Exceptions services raise; views turn them into HTTP responses (see ``kb/views/errors.py``)."""


class ServiceError(Exception):
    """Base class. ``message`` is safe to show to the user."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(ServiceError):
    """The request's input cannot be used (a bad filter value, an unknown page)."""

    status = 400


class NotFound(ServiceError):
    """The thing does not exist, or the user may not know that it exists."""

    status = 404


class NotAllowed(ServiceError):
    """The user may know the thing exists but may not do this to it."""

    status = 403


class Invalid(BadRequest):
    """A record (an entry, site or theme) breaks the rules. ``problems`` are
    :class:`kb.services.content_io.schema.Problem` values: where (``loc``, a path into the
    record) and what, so forms can show each message next to its field."""

    subject = "The record"

    def __init__(self, problems: list):
        super().__init__(f"{self.subject} could not be saved: " + "; ".join(p.message for p in problems))
        self.problems = problems


class Conflict(ServiceError):
    """The thing is no longer as the user saw it (published meanwhile, changed since): 409."""

    status = 409
