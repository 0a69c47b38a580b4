"""Marshmallow schemas of the foundation endpoints (accounts, auth, profile, health)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from edutrack.db.models import EmailPreference, Role
from edutrack.i18n import _

ROLES = [r.value for r in Role]


def not_blank(value: str) -> None:
    # Names are stored stripped: "   " would become an empty name.
    if not value.strip():
        raise ma.ValidationError(_("Must not be blank."))


class StrictSchema(ma.Schema):
    """Unknown fields are refused, and an integer field takes only a whole number: marshmallow alone would
    truncate 2.5 to 2."""

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def _whole_numbers(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict):
            return data
        bad: dict[str, list[str]] = {}
        for name, field in self.fields.items():
            key = field.data_key or name
            if key not in data or field.dump_only:
                continue
            inner = field.inner if isinstance(field, fields.List) else field
            if not isinstance(inner, fields.Integer):
                continue
            values = data[key] if isinstance(field, fields.List) and isinstance(data[key], list) else [data[key]]
            if any(isinstance(v, float) and not v.is_integer() for v in values):
                bad[key] = ["Not a valid integer."]
        if bad:
            raise ma.ValidationError(bad)
        return data


class PageQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class RegisterSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(max=1024))
    first_name = fields.String(required=True, validate=[validate.Length(min=1, max=100), not_blank])
    last_name = fields.String(required=True, validate=[validate.Length(min=1, max=100), not_blank])
    middle_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    birthday = fields.Date(load_default=None, allow_none=True)
    role = fields.String(load_default=Role.STUDENT.value, validate=validate.OneOf(ROLES))


class CreateUserSchema(RegisterSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    school_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    is_superuser = fields.Boolean(load_default=False)


class UpdateUserSchema(StrictSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = fields.Boolean()
    school_id = fields.Integer(allow_none=True, validate=validate.Range(min=1))


class UserListQuerySchema(PageQuerySchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    q = fields.String(validate=validate.Length(min=1, max=100))
    school_id = fields.Integer(validate=validate.Range(min=1))


class LoginSchema(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    device_token = fields.String(load_default=None, validate=validate.Length(max=2000), metadata={
        "description": "The device_token of this device's last sign-in to this account: other people's failed "
                       "attempts then do not slow this device down"})


class RefreshSchema(StrictSchema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=10, max=200))


class PasswordResetRequestSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))


class PasswordResetConfirmSchema(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=10, max=200))
    new_password = fields.String(required=True, validate=validate.Length(max=1024))


class ChangePasswordSchema(StrictSchema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    new_password = fields.String(required=True, validate=validate.Length(max=1024))


class ProfileUpdateSchema(StrictSchema):
    first_name = fields.String(validate=[validate.Length(min=1, max=100), not_blank])
    last_name = fields.String(validate=[validate.Length(min=1, max=100), not_blank])
    middle_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    birthday = fields.Date(allow_none=True)
    show_birthday = fields.Boolean()
    avatar_url = fields.Url(allow_none=True, schemes={"https", "http"}, validate=validate.Length(max=500))
    email_notifications = fields.String(validate=validate.OneOf([p.value for p in EmailPreference]))

    @ma.validates_schema
    def not_empty(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError(_("Nothing to update."), "_schema")


class ProfileSchema(ma.Schema):
    first_name = fields.String()
    last_name = fields.String()
    middle_name = fields.String(allow_none=True)
    full_name = fields.String()
    birthday = fields.Date(allow_none=True)
    show_birthday = fields.Boolean()
    avatar_url = fields.String()
    has_custom_avatar = fields.Boolean()
    email_notifications = fields.String()


class UserSchema(ma.Schema):
    id = fields.Integer()
    email = fields.String()
    role = fields.String()
    is_superuser = fields.Boolean()
    is_active = fields.Boolean()
    school_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    profile = fields.Nested(ProfileSchema)


class UserPageSchema(ma.Schema):
    items = fields.List(fields.Nested(UserSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class TokenPairSchema(ma.Schema):
    access_token = fields.String()
    access_expires_at = fields.Integer(metadata={"description": "Unix time"})
    refresh_token = fields.String()
    refresh_expires_at = fields.Integer(metadata={"description": "Unix time"})
    token_type = fields.String()


class AuthResultSchema(TokenPairSchema):
    user = fields.Nested(UserSchema)
    device_token = fields.String(metadata={
        "description": "Login only: keep it on this device and send it with the next login to this account"})


class AcceptedSchema(ma.Schema):
    status = fields.String()
    message = fields.String()


class HealthSchema(ma.Schema):
    status = fields.String()


class CheckSchema(ma.Schema):
    status = fields.String()
    latency_ms = fields.Float(allow_none=True)
    error = fields.String(allow_none=True)


class ReadinessSchema(ma.Schema):
    status = fields.String(metadata={"description": "ok, degraded or down"})
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckSchema))
