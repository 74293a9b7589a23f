"""Which token a session reads a remote repository with, and which Butler servers it may reach.

Local use (the command line, ``panel serve`` on one's own machine, a notebook): the token is
``$BUTLER_RUBIN_ACCESS_TOKEN``. Hosted for a collaboration: each user's own token, as the
authenticating proxy in front of the explorer hands it over (``X-Auth-Request-Token``, set by
Gafaelfawr on the Rubin Science Platform with ``delegate_to``), never the server's own: in
per-user mode (``REPO_EXPLORER_PER_USER_TOKENS=1``, turned on by ``serve`` whenever it listens
beyond loopback) a session without that header gets no token at all.

A token is never logged or shown here; :func:`describe_token` is how a message may mention one.
Opening a URL sends the session's token to that host, so a hosted server opens only the Butler
servers it was told about (``REPO_EXPLORER_BUTLER_SERVERS``: URL prefixes separated by spaces or
commas) and the labels of its repository index: a crafted ``?repo=https://elsewhere/...`` link
cannot make a user's browser session hand their token to another host.
"""
from __future__ import annotations

import os
from typing import Mapping, Optional

from ..errors import PathNotAllowedError
from .cache import authority_key
from .http import display_url
from .remote import TOKEN_ENV, is_url, resolve_label, server_url

TOKEN_HEADER = "X-Auth-Request-Token"
PER_USER_ENV = "REPO_EXPLORER_PER_USER_TOKENS"
SERVERS_ENV = "REPO_EXPLORER_BUTLER_SERVERS"


def per_user_tokens() -> bool:
    """Whether sessions must bring their own token (hosted) rather than use the environment's."""
    return os.environ.get(PER_USER_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def token_from_headers(headers: Optional[Mapping[str, str]]) -> Optional[str]:
    """The token an authenticating proxy put in ``X-Auth-Request-Token`` (any header case)."""
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == TOKEN_HEADER.lower():
            text = str(value).strip()
            return text or None
    return None


def session_token(headers: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The token for one session: the proxy's header first; then, unless in per-user mode, the
    environment's ``BUTLER_RUBIN_ACCESS_TOKEN``."""
    token = token_from_headers(headers)
    if token:
        return token
    if per_user_tokens():
        return None
    return (os.environ.get(TOKEN_ENV) or "").strip() or None


def describe_token(token: Optional[str]) -> str:
    """How messages and logs may refer to a token: whether there is one, never what it is."""
    return "a token" if token else "no token"


def allowed_servers() -> list[str]:
    raw = os.environ.get(SERVERS_ENV, "")
    return [server_url(p) for p in raw.replace(",", " ").split() if p.strip()]


def remote_target(text: str) -> Optional[str]:
    """For the page's repository box: the Butler server URL or index label ``text`` names (None
    when it names neither, so the caller treats it as a path). In per-user mode a URL must start
    with one of ``REPO_EXPLORER_BUTLER_SERVERS``; raises :class:`PathNotAllowedError` otherwise."""
    text = text.strip()
    if is_url(text):
        url = server_url(text)
        if per_user_tokens() and not any(url == s or url.startswith(s + "/") for s in allowed_servers()):
            raise PathNotAllowedError(
                f"refused: {display_url(url)} is not one of this server's Butler servers "
                f"({', '.join(allowed_servers()) or 'none configured'}; see {SERVERS_ENV})")
        return url
    if "/" not in text and not os.path.exists(text) and resolve_label(text) is not None:
        return text
    return None


def repository_key(target: str, token: Optional[str]) -> tuple[str, str]:
    """The key under which a process may share one opened repository between sessions: the
    target plus a hash of the token, so sessions share a remote repository only with the same
    token (local repositories need no token and are shared by everyone, as before)."""
    return target, authority_key(target, token) if is_url(target) or not os.path.exists(target) else ""
