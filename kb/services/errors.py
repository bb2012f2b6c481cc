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
