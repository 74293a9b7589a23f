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

**Browser events on the kernel's main thread.** JupyterLab 4.6 with ipykernel 7 sends each comm
target's messages to its own kernel *subshell* (the ``commsOverSubshells`` setting, default
``perCommTarget``), which ipykernel runs in a thread of its own. A Panel output's comm is such a
target, so a click in the page is handled in that thread while the cells run in the main thread:
a cell setting ``explorer.state.band`` then races the click's cascade over the same state and the
same Bokeh document (Panel's notebook path has no document lock), and updates are lost (the band
buttons show none active, the next click is dropped, the title keeps an old selection; even the
cell's ``print`` lands in the comm's captured output). :func:`events_on_main_thread` hands the
page's comm messages to the kernel's main event loop, so browser events and cells take turns as
they did before subshells.

**A lost acknowledgement.** Panel's browser side holds a click until Python acknowledged the
previous message; :func:`comm_watchdog` sends held changes once that acknowledgement is overdue.

**``.show()``.** It serves the page from the kernel; ``localhost`` is only useful when the browser
runs on the kernel's machine, and no tab opens without a display. :func:`show` says so and, under
JupyterHub, gives the URL through ``jupyter-server-proxy`` (``<prefix>proxy/<port>/explorer``) that
the user's browser can reach.
"""
from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import webbrowser
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

log = logging.getLogger(__name__)

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


# ----- browser events on the kernel's main thread -------------------------------------------------
def _main_loop_scheduler() -> Callable[[Callable[[], None]], None] | None:
    """A thread-safe "run this soon on the kernel's main thread", or None outside a kernel's main
    thread (there is nothing to hand over to, or the caller is already elsewhere)."""
    if threading.current_thread() is not threading.main_thread() or not in_notebook_kernel():
        return None
    from IPython import get_ipython

    io_loop = getattr(get_ipython().kernel, "io_loop", None)  # ipykernel's main-thread loop
    if io_loop is not None and hasattr(io_loop, "add_callback"):
        return io_loop.add_callback  # (tornado: safe to call from any thread)
    try:
        import asyncio

        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop.call_soon_threadsafe


def events_on_main_thread(view: Any) -> Any:
    """Make ``view`` (the Panel object a notebook cell displays) handle its browser events on the
    kernel's main thread, in the order they came, whichever kernel thread receives them.

    Panel renders ``view`` in a notebook with a pair of comms; the browser's messages (clicks, taps,
    typed values) arrive on the client comm, whose handler applies them to the document under a
    capture of ``sys.stdout``. Under JupyterLab's comms-over-subshells that handler runs in a
    subshell thread (module docstring); here it is queued for the main thread instead, where the
    cells run, so a cell and a click never change the state, the document or ``sys.stdout`` at
    the same time. A message arriving in the main thread is handled at once. Outside a kernel's
    main thread ``view`` is returned unchanged. Returns ``view``.
    """
    schedule = _main_loop_scheduler()
    render = getattr(view, "_render_mimebundle", None)
    if schedule is None or render is None:
        return view
    main = threading.main_thread()

    def on_main_thread(client: Any) -> None:
        handle = getattr(client, "_handle_msg", None)
        if handle is None or getattr(handle, "_on_main_thread", False):
            return

        def handle_and_drain(msg: Any) -> None:
            handle(msg)
            dispatch_stuck_events(view)

        def handle_msg(msg: Any) -> None:
            if threading.current_thread() is main:
                handle_and_drain(msg)
            else:
                schedule(lambda: handle_and_drain(msg))

        handle_msg._on_main_thread = True
        # (the comm opens when the browser shows the output, after this: it binds this handler)
        client._handle_msg = handle_msg

    def render_mimebundle(*args: Any, **kwargs: Any) -> Any:
        bundle = render(*args, **kwargs)
        for _server, client in list(getattr(view, "_comms", {}).values()):
            on_main_thread(client)
        return bundle

    view._render_mimebundle = render_mimebundle  # (Panel calls it to display the view)
    return view


# ----- one message per cascade ----------------------------------------------------------------------
class NotebookBatch:
    """Changes to a notebook's page sent to the browser as one message per batch.

    In a notebook every widget's change is its own comm message (a cascade: about 31). Between a
    select's new options and its new value the browser then sent its old value back, which Panel
    refused ("48 not in list") and the page stopped following. :meth:`__call__` returns a context
    manager: inside it (nested or not) Panel pushes nothing, the changes collect in the output's
    document (which Panel holds in a notebook), and when the outermost block ends they go out
    together. Without a rendered output (a served page, a script) it does nothing.
    """

    def __init__(self) -> None:
        self.views: list[Any] = []
        self._depth = 0

    def add(self, view: Any) -> Any:
        """Batch the changes of ``view`` (a Panel object a notebook cell displays); returns it."""
        self.views.append(view)
        return view

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if not self.views:
            yield
            return
        from panel.io.notebook import push_notebook
        from panel.io.state import state

        outermost = self._depth == 0 and not state._hold  # (Panel's own block_comm is re-entrant-free)
        self._depth += 1
        if outermost:
            state._hold = True  # what panel.io.notebook.block_comm sets: no push while it is set
        try:
            yield
        finally:
            self._depth -= 1
            if outermost:
                state._hold = False
                try:
                    push_notebook(*self.views)
                except Exception:  # noqa: BLE001 - the next change pushes what is left
                    log.debug("pushing a notebook batch", exc_info=True)


def dispatch_stuck_events(view: Any, rounds: int = 20) -> int:
    """Apply the browser's changes that a message left held in ``view``'s notebook document.

    Panel applies a browser message to the (held) document, then unholds it to run the Python
    callbacks of each change. The first callback's cascade holds the document again (Panel's
    ``hold``), so the message's later changes are held anew and wait for the next message: a
    click sent with a plot's data echo (one message) was lost until the next click. Here each
    round unholds the document again while changes from the browser (their setter is the
    output's comm) are still held. Returns how many times it unheld.
    """
    from panel.io.state import state

    unholds = 0
    for ref in list(getattr(view, "_models", {})):
        entry = state._views.get(ref)
        if entry is None or entry[3] is None:
            continue
        doc, comm = entry[2], entry[3]
        for _round in range(rounds):
            if not any(getattr(e, "setter", None) == comm.id for e in doc.callbacks._held_events):
                break
            held = doc.callbacks.hold_value
            doc.unhold()
            if held:
                doc.hold(held)
            unholds += 1
    return unholds


# ----- a lost acknowledgement does not freeze the page ---------------------------------------------
#: How often (ms) the browser checks for changes held back behind a message Python never acknowledged.
COMM_WATCH_PERIOD_MS = 1000

# Panel's comm manager (a root of the output's document) sends a browser change, then holds the
# next ones until Python acknowledges; past its ``timeout`` it sends again, but only when a further
# change comes. This sends them once the timeout has passed, whether a change comes or not.
_COMM_WATCH_ESM = """
export function render({ model, view }) {
  const flush = () => {
    const doc = view.model.document
    if (doc == null) return
    for (const root of doc.roots()) {
      const held = root._event_buffer
      if (held === undefined || held.length === 0 || !root._blocked || Date.now() <= root._timeout) continue
      root._timeout = Date.now() + root.timeout
      root.process_events()
    }
  }
  const timer = setInterval(flush, PERIOD)
  model.on('remove', () => clearInterval(timer))
}
"""


def comm_watchdog() -> Any:
    """A zero-size component for a notebook output: it sends the browser's held changes to the
    kernel once Python's acknowledgement of the previous message is overdue.

    In a notebook, Panel's browser side sends one message at a time and holds later changes (a
    click) until Python acknowledges the last one; past a timeout (5 s) it sends them, but only when
    yet another change comes. An acknowledgement that never arrived (seen under load, with
    JupyterLab's comms over kernel subshells; the cause was not found) then left a click unsent
    until the next click: the page looked dead. Rendered in the same output (the same document)
    as the page.
    """
    return _comm_watch_class()(width=0, height=0, margin=0)


@functools.cache
def _comm_watch_class() -> type:
    from panel.custom import JSComponent

    return type("CommWatchdog", (JSComponent,), {
        "_esm": _COMM_WATCH_ESM.replace("PERIOD", str(COMM_WATCH_PERIOD_MS)),
        "__doc__": "The browser-side check of :func:`comm_watchdog`."})


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
