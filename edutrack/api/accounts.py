"""Handlers: auth, password reset, profile, users. They parse, call a service, and dump."""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from edutrack.api import sessions as sessions_api
from edutrack.api.http import client_ip, ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import (
    AcceptedSchema,
    AuthResultSchema,
    ChangePasswordSchema,
    CreateUserSchema,
    LoginSchema,
    PasswordResetConfirmSchema,
    PasswordResetRequestSchema,
    ProfileUpdateSchema,
    RefreshSchema,
    RegisterSchema,
    TokenPairSchema,
    UpdateUserSchema,
    UserListQuerySchema,
    UserPageSchema,
    UserSchema,
)
from edutrack.api.session_cookie import COOKIE, HEADER, clear_refresh_cookie, cookie_mode, cookie_token, tokens_response
from edutrack.i18n import _
from edutrack.services import accounts, auth

_user = UserSchema()
_tokens = TokenPairSchema()
_auth_result = AuthResultSchema()

AUTH = ("auth",)
PROFILE = ("profile",)
USERS = ("users",)
COOKIE_MODE = (f"With the header `{HEADER}: cookie` (the web client) the refresh token is not in the JSON body but in "
               "the `edutrack_refresh` cookie (HttpOnly, SameSite=Strict, Path=/api/v1/auth, Secure over https).")


@doc("Register yourself (student or parent) when self-registration is enabled", tags=AUTH, auth=False,
     body=RegisterSchema, response=AuthResultSchema, status=201, errors=(403, 409, 429, 503), description=COOKIE_MODE)
async def register(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    data = await load_json(request, RegisterSchema())
    user = await accounts.register(ctx, accounts.NewUser(**data), client_ip(request))
    pair = await auth.start_session(ctx, user, request.headers.get("User-Agent"))
    return tokens_response(request, _auth_result.dump({**asdict(pair), "user": accounts.user_view(user)}), status=201)


@doc("Log in with email and password: a short-lived access token and a rotating refresh token", tags=AUTH,
     auth=False, body=LoginSchema, response=AuthResultSchema, errors=(401, 429, 503), description=COOKIE_MODE)
async def login(request: web.Request) -> web.Response:
    data = await load_json(request, LoginSchema())
    done = await auth.login(ctx_of(request), data["email"], data["password"], client_ip(request),
                            request.headers.get("User-Agent"), data.get("device_token"))
    return tokens_response(request, _auth_result.dump({**asdict(done.tokens), "user": accounts.user_view(done.user),
                                                       "device_token": done.device_token}))


@doc("Exchange a refresh token for a new pair (the old refresh token stops working)", tags=AUTH, auth=False,
     body=RefreshSchema, response=AuthResultSchema, errors=(401,),
     description=COOKIE_MODE + " In that mode the body is not read, the new refresh token replaces the cookie, and "
     "the answer also carries `user` (a page that opens learns whose login it is in one call); the cookie is read "
     "nowhere else but here and at logout, and never without the header. Without the header: the pair only.")
async def refresh(request: web.Request) -> web.Response:
    cookie = cookie_mode(request)
    token = cookie_token(request) if cookie else await _body_token(request)
    done = await auth.refresh(ctx_of(request), token, request.headers.get("User-Agent"))
    if not cookie:
        return json_response(_tokens.dump(asdict(done.tokens)))
    return tokens_response(request, _auth_result.dump({**asdict(done.tokens), "user": accounts.user_view(done.user)}))


@doc("Log out this device: revoke this refresh token, every token rotated from the same login, and that login's "
     "access tokens (on every node; its websockets close with 4001)", tags=AUTH, auth=False,
     body=RefreshSchema, status=204, errors=(401,),
     description=COOKIE_MODE + " In that mode the body is not read, the cookie's login ends and the cookie is "
     "cleared.")
async def logout(request: web.Request) -> web.Response:
    response = web.Response(status=204)
    if cookie_mode(request):
        clear_refresh_cookie(request, response)
        token = request.cookies.get(COOKIE, "")
        if not token:
            return response
    else:
        token = await _body_token(request)
    await auth.logout(ctx_of(request), token)
    return response


async def _body_token(request: web.Request) -> str:
    data = await load_json(request, RefreshSchema())
    token: str = data["refresh_token"]
    return token


@doc("Log out on every device", tags=AUTH, status=204)
async def logout_all(request: web.Request) -> web.Response:
    await auth.logout_everywhere(ctx_of(request), principal(request))
    response = web.Response(status=204)
    if cookie_mode(request):
        clear_refresh_cookie(request, response)
    return response


@doc("Ask for a password reset email. Always 202, whether or not the address is known", tags=AUTH,
     auth=False, body=PasswordResetRequestSchema, response=AcceptedSchema, status=202, errors=(429,))
async def password_reset_request(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    data = await load_json(request, PasswordResetRequestSchema())
    await auth.admit_reset_request(ctx, client_ip(request))
    # The work runs after the answer, so neither the answer nor its timing reveals whether the account exists.
    ctx.background.spawn(auth.request_password_reset(ctx, data["email"]), name="password-reset-request")
    return json_response(
        {"status": "accepted", "message": _("If the address is registered, a reset link is on its way.")}, status=202
    )


@doc("Set a new password with the token from the reset email; signs out every device", tags=AUTH, auth=False,
     body=PasswordResetConfirmSchema, status=204, errors=(503,))
async def password_reset_confirm(request: web.Request) -> web.Response:
    data = await load_json(request, PasswordResetConfirmSchema())
    await auth.confirm_password_reset(ctx_of(request), data["token"], data["new_password"])
    return web.Response(status=204)


@doc("Your account and profile", tags=PROFILE, response=UserSchema)
async def get_me(request: web.Request) -> web.Response:
    view = await accounts.get_me(ctx_of(request), principal(request))
    return json_response(_user.dump(view))


@doc("Update your profile (name, birthday and its visibility to classmates, avatar, email preferences)",
     tags=PROFILE, body=ProfileUpdateSchema, response=UserSchema)
async def update_me(request: web.Request) -> web.Response:
    data = await load_json(request, ProfileUpdateSchema())
    user = await accounts.update_me(ctx_of(request), principal(request), data)
    return json_response(_user.dump(accounts.user_view(user)))


@doc("Change your password; other devices are signed out, this one gets a new token pair", tags=PROFILE,
     body=ChangePasswordSchema, response=TokenPairSchema, errors=(503,), description=COOKIE_MODE)
async def change_password(request: web.Request) -> web.Response:
    data = await load_json(request, ChangePasswordSchema())
    pair = await auth.change_password(ctx_of(request), principal(request), data["current_password"],
                                      data["new_password"], request.headers.get("User-Agent"))
    return tokens_response(request, _tokens.dump(asdict(pair)))


@doc("Create a user (admins: teachers, students, parents of their school; superusers: anyone)", tags=USERS,
     body=CreateUserSchema, response=UserSchema, status=201, errors=(403, 409))
async def create_user(request: web.Request) -> web.Response:
    data = await load_json(request, CreateUserSchema())
    user = await accounts.create_by_admin(ctx_of(request), principal(request), accounts.NewUser(**data))
    return json_response(_user.dump(accounts.user_view(user)), status=201)


@doc("List users of your school (superusers: any school)", tags=USERS, query=UserListQuerySchema,
     response=UserPageSchema, errors=(403,))
async def list_users(request: web.Request) -> web.Response:
    params = load_query(request, UserListQuerySchema())
    users, total = await accounts.list_users(
        ctx_of(request), principal(request), role=params.get("role"), q_text=params.get("q"),
        school_id=params.get("school_id"), limit=params["limit"], offset=params["offset"],
    )
    return json_response({"items": [_user.dump(accounts.user_view(u)) for u in users], "total": total,
                          "limit": params["limit"], "offset": params["offset"]})


@doc("One user (yourself, or a user of your school if you are its admin)", tags=USERS, response=UserSchema,
     errors=(404,))
async def get_user(request: web.Request) -> web.Response:
    user = await accounts.get_user(ctx_of(request), principal(request), path_int(request, "user_id"))
    return json_response(_user.dump(accounts.user_view(user)))


@doc("Change a user's role, activity or school (deactivation signs them out)", tags=USERS,
     body=UpdateUserSchema, response=UserSchema, errors=(403, 404, 409))
async def update_user(request: web.Request) -> web.Response:
    data = await load_json(request, UpdateUserSchema())
    user = await accounts.update_user(ctx_of(request), principal(request), path_int(request, "user_id"), data)
    return json_response(_user.dump(accounts.user_view(user)))


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/auth/register", register)
    r.add_post("/api/v1/auth/login", login)
    r.add_post("/api/v1/auth/refresh", refresh)
    r.add_post("/api/v1/auth/logout", logout)
    r.add_post("/api/v1/auth/logout-all", logout_all)
    r.add_post("/api/v1/password-reset/request", password_reset_request)
    r.add_post("/api/v1/password-reset/confirm", password_reset_confirm)
    r.add_get("/api/v1/profile/me", get_me)
    r.add_put("/api/v1/profile/me", update_me)
    r.add_put("/api/v1/profile/me/password", change_password)
    r.add_post("/api/v1/users", create_user)
    r.add_get("/api/v1/users", list_users)
    r.add_get("/api/v1/users/{user_id}", get_user)
    r.add_patch("/api/v1/users/{user_id}", update_user)
    sessions_api.setup_routes(app)
