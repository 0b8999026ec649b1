"""``POST /oauth_token.do``: OAuth 2 tokens for the Table and Batch APIs.

Form body with ``grant_type`` ``password`` (``client_id``, ``client_secret``, ``username``,
``password``; the client may authenticate with HTTP Basic instead of form fields),
``client_credentials`` (``client_id``, ``client_secret``; the token acts as the
client's configured user) or ``refresh_token`` (``refresh_token`` plus the client). The answer
is ``{access_token, refresh_token?, scope, token_type: "Bearer", expires_in}``; access tokens
live 30 minutes on the instance's clock. Failures are 401 ``{"error": "server_error",
"error_description": "access_denied"}``, what an instance answers to bad credentials.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from urllib.parse import parse_qsl, unquote_plus

from .context import Answer, Ctx, SnowRoute
from .state import TOKEN_TTL_S

DENIED = Answer(401, {"error_description": "access_denied", "error": "server_error"})


def token(ctx: Ctx) -> Answer:
    form = dict(parse_qsl(ctx.body.decode("utf-8", "replace"), keep_blank_values=True))
    instance = ctx.instance
    grant = form.get("grant_type", "")
    if grant not in ("password", "client_credentials", "refresh_token"):
        return Answer(
            400,
            {"error_description": f"Unsupported grant type {grant!r}", "error": "invalid_request"},
        )
    client_id, client_secret = _client_credentials(ctx, form)
    client = instance.clients.get(client_id)
    if client is None or not secrets.compare_digest(client.client_secret, client_secret):
        return DENIED
    refresh = True
    if grant == "password":
        user = instance.authenticate(form.get("username", ""), form.get("password", ""))
    elif grant == "refresh_token":
        user = instance.token_user(form.get("refresh_token", ""), refresh=True)
    else:
        user = instance.user_by_name(client.user_name)
        if user is not None and user.get("active") != "true":
            user = None
        refresh = False
    if user is None:
        return DENIED
    body = {
        "access_token": instance.issue_token(user["sys_id"]),
        "scope": "useraccount",
        "token_type": "Bearer",
        "expires_in": TOKEN_TTL_S - 1,
    }
    if refresh:
        body["refresh_token"] = instance.issue_token(user["sys_id"], refresh=True)
    return Answer(200, body)


def _client_credentials(ctx: Ctx, form: dict[str, str]) -> tuple[str, str]:
    """From the form, or from an ``Authorization: Basic`` header (RFC 6749 2.3.1), which
    requests-oauthlib sends when given a client secret."""
    if form.get("client_id") and form.get("client_secret"):
        return form["client_id"], form["client_secret"]
    scheme, _, encoded = (ctx.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            name, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return unquote_plus(name), unquote_plus(secret)
    return form.get("client_id", ""), form.get("client_secret", "")


ROUTES = (SnowRoute(("POST",), "/oauth_token.do", token, anonymous=True, versions=("",)),)
