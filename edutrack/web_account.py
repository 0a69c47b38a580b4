"""The account pages of the web client: forgot password (the reset page is edutrack.web's), self-registration and
the profile. Shells like every page (edutrack.web); the data comes from the JSON API."""

from __future__ import annotations

from aiohttp import web

from edutrack.api.http import ctx_of
from edutrack.api.openapi import doc
from edutrack.i18n import N_
from edutrack.i18n.browser import page_catalogues
from edutrack.web import CATALOGUES, CORE_SCRIPT, LIVE_SCRIPT, PAGES_TAG, STATIC_DIR, Page, render_page

ACCOUNT_SCRIPT = "web/account.js"  # forms checked in our own words, errors next to their fields

FORGOT_PASSWORD = Page("forgot-password", "forgot_password.html", N_("Forgot your password?"),
                       (ACCOUNT_SCRIPT, "web/forgot-password.js"))
REGISTER = Page("register", "register.html", N_("Registration"), (ACCOUNT_SCRIPT, "web/register.js"))
PROFILE = Page("profile", "profile.html", N_("Profile"), (LIVE_SCRIPT, ACCOUNT_SCRIPT, "web/profile.js"))
PAGES = (FORGOT_PASSWORD, REGISTER, PROFILE)


@doc("Web client: asks for a password reset email (HTML)", tags=PAGES_TAG, auth=False)
async def forgot_password_page(request: web.Request) -> web.Response:
    return render_page(request, FORGOT_PASSWORD)


@doc("Web client: self-registration of a student or parent when ALLOW_SELF_REGISTRATION is on; otherwise it says "
     "who creates accounts (HTML)", tags=PAGES_TAG, auth=False)
async def register_page(request: web.Request) -> web.Response:
    return render_page(request, REGISTER, enabled=ctx_of(request).settings.allow_self_registration)


@doc("Web client: your profile: name, email notifications, password, and where you are signed in (HTML)",
     tags=PAGES_TAG, auth=False)
async def profile_page(request: web.Request) -> web.Response:
    return render_page(request, PROFILE)


def setup(app: web.Application) -> None:
    """After edutrack.web.setup, which creates the catalogues these pages join."""
    for page in PAGES:
        app[CATALOGUES][page.name] = page_catalogues(STATIC_DIR / s for s in (CORE_SCRIPT, *page.scripts))
    app.router.add_get("/forgot-password", forgot_password_page)
    app.router.add_get("/register", register_page)
    app.router.add_get("/profile", profile_page)
