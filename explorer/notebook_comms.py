"""A notebook output's comms: what keeps the explorer's page in a notebook in step with the kernel.

Panel shows a page in a notebook output with a pair of comms: the browser's changes reach Python on
the *client* comm, which the browser opens when it shows the output; Python's changes reach the
browser on the *server* comm, which Python opens once the client comm is open. Four things go wrong
with JupyterLab 4 and ipykernel 7, and each has its piece here.

**Nothing sent before the browser can show it.** The browser opens the client comm as soon as it
has read the output's document, but it applies Python's changes only once the page is drawn: Panel's
browser side drops a message that comes before (its plot is not in the index yet); a message
whose first parts were dropped is then read out of step, which is likely what the browser's
"Expected text fragment but received binary fragment", seen once, was.
A big page in a busy or slow browser takes seconds to draw, and "Run All" runs the next cells
meanwhile: a cell that set ``explorer.state.band`` changed the kernel's page, the browser never
showed it, and it went on showing the first cell's page. :func:`updates_when_shown` opens the
server comm only when the page says it is drawn (:func:`comm_watchdog`'s ``drawn``); Panel keeps
the changes made before and sends them then, in order.

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

**One message per cascade.** :class:`NotebookBatch` sends a cascade's changes together.

**A lost acknowledgement.** Panel's browser side holds a click until Python acknowledged the
previous message; :func:`comm_watchdog` sends held changes once that acknowledgement is overdue.
"""
from __future__ import annotations

import functools
import logging
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from .notebook import in_notebook_kernel

log = logging.getLogger(__name__)


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
    if schedule is None or not hasattr(view, "_render_mimebundle"):
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

    _after_each_render(view, lambda _server, client: on_main_thread(client))
    return view


def _after_each_render(view: Any, on_comms: Callable[[Any, Any], None]) -> None:
    """Call ``on_comms(server, client)`` with each comm pair of ``view`` each time Panel renders it
    into a notebook output (``_render_mimebundle``: Panel makes the output's comms there, before the
    browser can open them)."""
    render = view._render_mimebundle

    def render_mimebundle(*args: Any, **kwargs: Any) -> Any:
        bundle = render(*args, **kwargs)
        for server, client in list(getattr(view, "_comms", {}).values()):
            on_comms(server, client)
        return bundle

    view._render_mimebundle = render_mimebundle


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
#: How often (ms) the browser checks whether the output's page is drawn.
DRAWN_PERIOD_MS = 100
#: How long (s) after the browser opened an output's client comm Python waits for the page to say it
#: is drawn before it opens the server comm anyway (a page whose check never ran still follows).
DRAWN_FALLBACK_S = 60.0

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

  // say once the output's page is drawn, i.e. once Panel's comm manager would apply a message
  // from Python (it drops one that comes before: its plot is not in an index yet)
  const drawn = () => {
    const doc = view.model.document
    const ns = window.PyViz
    if (doc == null || ns == null) return false
    for (const root of doc.roots()) {
      const id = root.plot_id
      if (root._client_comm === undefined || id == null) continue
      return (ns.plot_index != null && ns.plot_index[id] != null) ||
        (window.Bokeh !== undefined && id in window.Bokeh.index)
    }
    return false
  }
  const check = setInterval(() => {
    if (drawn()) {
      clearInterval(check)
      model.drawn = model.drawn + 1
    }
  }, DRAWN_PERIOD)
  model.on('remove', () => clearInterval(check))
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

    Its ``drawn`` parameter counts the times the browser drew the output's page; Python opens the
    server comm then (:func:`updates_when_shown`).
    """
    return _comm_watch_class()(width=0, height=0, margin=0)


@functools.cache
def _comm_watch_class() -> type:
    import param
    from panel.custom import JSComponent

    esm = _COMM_WATCH_ESM.replace("DRAWN_PERIOD", str(DRAWN_PERIOD_MS)).replace("PERIOD", str(COMM_WATCH_PERIOD_MS))
    return type("CommWatchdog", (JSComponent,), {
        "_esm": esm,
        "drawn": param.Integer(default=0, doc="How many times the browser drew the output's page."),
        "__doc__": "The browser-side check of :func:`comm_watchdog`."})


def updates_when_shown(view: Any, watchdog: Any) -> Any:
    """Send Python's changes to ``view``'s notebook output only once the browser has drawn it.

    Panel opens an output's server comm (Python to the browser) as soon as the browser opens the
    client comm, which it does before it has drawn the page; what Python sends until the page is
    drawn is dropped (module docstring). Here the server comm opens when ``watchdog`` (a
    :func:`comm_watchdog` in the same output) says the page is drawn, or
    :data:`DRAWN_FALLBACK_S` after the client comm opened if it never says. Until then Panel
    keeps each change and tries again every 0.1 s, so the changes arrive in order. Outside a
    kernel's main thread ``view`` is returned unchanged. Returns ``view``.
    """
    schedule = _main_loop_scheduler()
    if schedule is None or not hasattr(view, "_render_mimebundle"):
        return view

    def open_server_comms(_event: Any) -> None:  # (the browser said so: its client comm is open)
        for server, client in list(getattr(view, "_comms", {}).values()):
            if server._comm is None and client._comm is not None:  # noqa: SLF001
                server.init()

    def when_client_opens(server: Any) -> Callable[[Any], None]:
        def opened(_msg: Any) -> None:  # (in whichever kernel thread took the browser's comm_open)
            def anyway() -> None:
                if server._comm is None:  # noqa: SLF001 - the page never said it was drawn
                    log.debug("the notebook output never said it was drawn; sending its changes anyway")
                    server.init()

            timer = threading.Timer(DRAWN_FALLBACK_S, lambda: schedule(anyway))
            timer.daemon = True
            timer.start()

        return opened

    def hold_server_comm(server: Any, client: Any) -> None:
        client._on_open = when_client_opens(server)  # noqa: SLF001 - Panel's: server.init() at once

    _after_each_render(view, hold_server_comm)
    watchdog.param.watch(open_server_comms, "drawn")
    return view
