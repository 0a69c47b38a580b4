"""Typed API errors: services raise these, one middleware turns them into one JSON shape."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400
    code = "bad_request"
    message = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    message = "Authentication required"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    message = "You are not allowed to do this"


class NotFound(ApiError):
    status = 404
    code = "not_found"
    message = "Not found"


class Conflict(ApiError):
    status = 409
    code = "conflict"
    message = "Conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    message = "Request body is too large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"
    message = "Request body must be application/json"


class ValidationFailed(ApiError):
    status = 422
    code = "validation_error"
    message = "Request is invalid"


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"
    message = "Too many requests"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
    message = "A service EduTrack depends on is unavailable"
