"""Web pages that emails link to. The password reset link opens /reset-password?token=...; the page posts the
token and the new password to the JSON API, so the page itself holds no logic and no state."""

from __future__ import annotations

from aiohttp import web

from edutrack.api.openapi import doc

RESET_PAGE_HTML = """<!doctype html>
<html lang="ru">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>EduTrack: новый пароль</title>
  <style>
    body { font-family: system-ui, sans-serif; max-width: 26rem; margin: 4rem auto; padding: 0 1rem; }
    label, input, button { display: block; width: 100%; box-sizing: border-box; }
    input { margin: .25rem 0 1rem; padding: .5rem; font-size: 1rem; }
    button { padding: .6rem; font-size: 1rem; }
    #message { margin-top: 1rem; }
  </style>
</head>
<body>
  <h1>Новый пароль</h1>
  <form id="reset-form">
    <label for="password">Новый пароль (от 8 до 128 символов)</label>
    <input id="password" name="password" type="password" minlength="8" maxlength="128" required
           autocomplete="new-password">
    <label for="password2">Повторите пароль</label>
    <input id="password2" name="password2" type="password" minlength="8" maxlength="128" required
           autocomplete="new-password">
    <button type="submit">Сохранить</button>
  </form>
  <p id="message" role="status"></p>
  <script src="/static/reset-password.js"></script>
</body>
</html>
"""


@doc("Web page behind the password reset link in the email: asks for the new password and posts it to "
     "/api/v1/password-reset/confirm (HTML, not JSON)", tags=("pages",), auth=False)
async def reset_password_page(request: web.Request) -> web.Response:
    return web.Response(text=RESET_PAGE_HTML, content_type="text/html")


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/reset-password", reset_password_page)
