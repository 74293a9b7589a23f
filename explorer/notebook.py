"""The explorer in Jupyter: page resources that load without internet, and a ``.show()`` that says
where the page is.

**Resources.** A Panel page in a notebook needs BokehJS, Panel's JS and CSS, Tabulator and Notyf in
the browser. By default Panel points the browser at its Jupyter server extension
(``<server>/panel-preview/static/...``) when the kernel was started by a Jupyter server that loaded
that extension, and at public CDNs (cdn.bokeh.org, cdn.holoviz.org) otherwise. Behind a firewall, or
when the kernel runs in another environment than the Jupyter server (common on JupyterHub), or
under a JupyterHub prefix (``/user/NAME/``, which Panel's endpoint URLs do not carry), the browser
gets nothing and the output is a blank strip. :func:`resource_mode` picks:

* ``"jupyter"``: the server extension, only when it is known to serve this kernel and no hub
  prefix is in the way;
* ``"inline"``: the resources embedded in the output (larger output, works everywhere, offline);

and ``REPO_EXPLORER_NOTEBOOK_RESOURCES=inline|jupyter|cdn`` overrides it.
:func:`extension_kwargs` is what the page passes to ``pn.extension``.

**The output's comms.** :mod:`explorer.notebook_comms` keeps the page in a notebook in step with
the kernel (browser events on the kernel's main thread, one message per cascade, nothing sent
before the page is drawn).

**``.show()``.** It serves the page from the kernel; ``localhost`` is only useful when the browser
runs on the kernel's machine, and no tab opens without a display. :func:`show` says so and, under
JupyterHub, gives the URL through ``jupyter-server-proxy`` (``<prefix>proxy/<port>/explorer``) that
the user's browser can reach.
"""
from __future__ import annotations

import os
import sys
import webbrowser
from typing import Any, Callable, Optional

ENV_RESOURCES = "REPO_EXPLORER_NOTEBOOK_RESOURCES"
ENV_HUB_PREFIX = "JUPYTERHUB_SERVICE_PREFIX"  # set by JupyterHub for each user's server, e.g. /user/ada/
MODES = ("inline", "jupyter", "cdn")
APP_PATH = "explorer"


def in_notebook_kernel() -> bool:
    """True inside a Jupyter kernel (IPython with a kernel), outside a Panel/Bokeh server session."""
    if "IPython" not in sys.modules:
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:  # noqa: BLE001 - any failure here means "not a kernel"
        return False
    if shell is None or not hasattr(shell, "kernel"):
        return False
    try:
        import panel as pn

        return not pn.state._is_server_session  # noqa: SLF001 - a server session renders its own way
    except Exception:  # noqa: BLE001
        return True


def resource_mode() -> str:
    """Where the notebook's browser loads the page's JS and CSS from: "inline", "jupyter" or "cdn"."""
    chosen = os.environ.get(ENV_RESOURCES, "").strip().lower()
    if chosen in MODES:
        return chosen
    try:
        from panel.io.resources import jupyter_endpoint_available
    except ImportError:  # an older Panel without the Jupyter endpoint: only inline works offline
        return "inline"
    if jupyter_endpoint_available() and not os.environ.get(ENV_HUB_PREFIX):
        return "jupyter"
    return "inline"


def extension_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``pn.extension`` so the page renders in this kernel's notebook offline.

    Empty outside a notebook kernel (a served page gets its resources from its own server).
    """
    if not in_notebook_kernel():
        return {}
    mode = resource_mode()
    if mode == "inline":  # (and no probe of the Jupyter endpoint, whose failure Panel would report)
        return {"inline": True, "notebook_resources": "cdn"}
    if mode == "cdn":
        return {"inline": False, "notebook_resources": "cdn"}
    return {"inline": False}


# ----- .show() ------------------------------------------------------------------------------------
def can_open_browser() -> bool:
    """Whether ``webbrowser`` could open a tab here: a display (or macOS/Windows) and a browser."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def page_urls(port: int, path: str = APP_PATH) -> dict[str, Optional[str]]:
    """``local``: the page on this machine; ``proxied``: through jupyter-server-proxy under JupyterHub
    (a path on the hub the user's browser already reaches), or None outside a hub."""
    prefix = os.environ.get(ENV_HUB_PREFIX)
    proxied = None
    if prefix:
        base = os.environ.get("JUPYTERHUB_EXTERNAL_URL") or os.environ.get("JUPYTERHUB_PUBLIC_URL") or ""
        proxied = f"{base.rstrip('/')}/{prefix.strip('/')}/proxy/{port}/{path}"
    return {"local": f"http://localhost:{port}/{path}", "proxied": proxied}


def show_message(port: int, opened: bool, path: str = APP_PATH) -> str:
    """What ``.show()`` tells the user: where the page is, and why no tab opened if none did."""
    urls = page_urls(port, path)
    if urls["proxied"]:
        return (f"The explorer is served from this kernel. Open {urls['proxied']} in your browser "
                f"(through jupyter-server-proxy; {urls['local']} is the kernel's own machine, which your "
                f"browser cannot reach).")
    if opened:
        return f"The explorer opened in a new browser tab: {urls['local']}"
    return (f"No browser tab was opened: this kernel has no display. The explorer is served at "
            f"{urls['local']}: open it in a browser on the kernel's machine, or forward the port "
            f"(ssh -L {port}:localhost:{port} HOST) and open it on yours.")


def _served_here(make_page: Callable[[], Any]) -> Callable[[], Any]:
    """``make_page`` for a server started in a notebook kernel, with Panel's resources resolved
    against that server.

    In a notebook, ``pn.extension`` leaves Panel's process-wide resource mode at "cdn" (its inline
    bootstrap has no URLs of its own), and the stylesheets Panel attaches while it builds a page
    (Notyf, Font Awesome, the Tabulator theme) are resolved from that mode, i.e. from
    cdn.holoviz.org, which a firewalled browser cannot reach. A served page wants "server"
    (``static/extensions/panel/...`` on the server that serves it); Panel switches the mode to that
    itself when it renders the page's HTML, after the page is built, and never switches back.
    This switches it when the page starts being built instead.
    """
    def make() -> Any:
        try:
            from panel.io.resources import (
                get_notebook_resources,
                set_default_resource_mode,
            )

            set_default_resource_mode("server", notebook=get_notebook_resources())
        except ImportError:  # another Panel version: its own behaviour stands
            pass
        return make_page()

    return make


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def show(make_page: Callable[[], Any], port: int = 0, address: str = "127.0.0.1", **kwargs: Any):
    """Serve ``make_page()`` from this process at ``/explorer`` in a background thread (on
    ``address``, by default this machine only: jupyter-server-proxy reaches it there), open a tab
    when a browser can be opened here, and print where the page is. Returns Panel's server thread
    (``.stop()`` ends it; ``.port`` is the port)."""
    import panel as pn

    port = int(port) or _free_port()
    hub = bool(os.environ.get(ENV_HUB_PREFIX))
    origins = kwargs.pop("websocket_origin", None)
    if hub and origins is None:
        origins = "*"  # the browser's Origin is the hub's host, reached through the proxy
    thread = pn.serve({APP_PATH: _served_here(make_page)}, port=port, address=address, show=False,
                      threaded=True, verbose=False, websocket_origin=origins, **kwargs)
    opened = False
    if not hub and can_open_browser():
        try:
            opened = webbrowser.open_new_tab(page_urls(port)["local"])
        except webbrowser.Error:
            opened = False
    print(show_message(port, opened))
    thread.port = port
    return thread
