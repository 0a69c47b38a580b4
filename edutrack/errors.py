"""Typed API errors: services raise these, one middleware turns them into one JSON shape.

`code` is stable and for programs; `message` is for people, in the language of the request being served:
pass `_("...")` from edutrack.i18n, or nothing for the class's default (marked with `N_`, translated here)."""

from __future__ import annotations

from typing import Any

from edutrack.i18n import N_, gettext


class ApiError(Exception):
    status = 400
    code = "bad_request"
    message = N_("Bad request")

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or gettext(type(self).message)
        self.code = code or self.code
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    message = N_("Authentication required")


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    message = N_("You are not allowed to do this")


class NotFound(ApiError):
    status = 404
    code = "not_found"
    message = N_("Not found")


class Conflict(ApiError):
    status = 409
    code = "conflict"
    message = N_("Conflict")


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    message = N_("Request body is too large")


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"
    message = N_("Request body must be application/json")


class ValidationFailed(ApiError):
    status = 422
    code = "validation_error"
    message = N_("Request is invalid")


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"
    message = N_("Too many requests")

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
    message = N_("A service EduTrack depends on is unavailable")
