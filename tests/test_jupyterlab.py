"""The example notebook in a real JupyterLab, driven by Chromium, with no network beyond 127.0.0.1.

The JupyterLab server is set up as a user's server under JupyterHub is: served under a prefix
(``--ServerApp.base_url /user/ada/``, ``JUPYTERHUB_SERVICE_PREFIX``), with Panel's Jupyter server
extension and jupyter-server-proxy loaded. Every browser request that does not go to this server
is aborted (a cluster behind a firewall). Then: Run All, in a browser slowed sixfold while the
cells run (a busy machine's: the page draws while the next cells change the state), renders the
explorer inline (the sky map and the image title, not a blank strip, and Panel never reports its
libraries missing), a click on a band button updates the image, a cell run afterwards sets the
state from code and the page follows, and ``.show()`` prints a URL, through jupyter-server-proxy,
that opens the page. What the cells set while the page was drawn shows on it
(explorer.notebook_comms.updates_when_shown).

The live part guards a regression: JupyterLab 4.6 hands each comm target's messages to a kernel
subshell thread, so clicks raced the cells over the same state (explorer.notebook_comms,
``events_on_main_thread``). Every step checks the image title and which band button is active, a
click follows state set from code, and a cell's own ``print`` stays in its output. A cascade reaches
the notebook as one message per widget, and the browser could send a select's old value back between
its new options and its new value: Panel raised ("48 not in list") and the page stopped following
(explorer.app.selectors.TolerantSelect); no such failure may show in any output. The screenshot of
the whole output (test-artifacts/jupyterlab/explorer-output.png) is for people checking the layout.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "jupyterlab"  # screenshots of the notebook output, to look at
NOTEBOOK = REPO / "notebooks" / "explorer.ipynb"
CHROMIUM = "/usr/bin/chromium"
PREFIX = "/user/ada/"
SLOW_BROWSER = 6  # how many times slower the browser runs while the notebook's cells run

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(sample_gen3, tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 under a hub-like prefix, with the example notebook (plus a
    last cell that calls ``.show()``) in its notebook directory; stopped at teardown."""
    pytest.importorskip("jupyterlab")
    nbformat = pytest.importorskip("nbformat")
    if not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium at /usr/bin/chromium")
    home = tmp_path_factory.mktemp("lab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("served = explorer.show()"))
    nbformat.write(nb, notebooks / "explorer.ipynb")
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                           "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
               REPO_EXPLORER_SAMPLE_DIR=str(sample_gen3), JUPYTERHUB_SERVICE_PREFIX=PREFIX,
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               IPYTHONDIR=str(home / "ipython"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    env.pop(  # the kernel must decide for itself, as a user's would
        "REPO_EXPLORER_NOTEBOOK_RESOURCES", None)
    log = open(home / "server.log", "w")
    proc = subprocess.Popen(
        [os.path.join(bindir, "jupyter-lab"), "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
         f"--IdentityProvider.token={token}", f"--ServerApp.base_url={PREFIX}",
         f"--ServerApp.root_dir={notebooks}", "--allow-root", "--LabApp.expose_app_in_browser=True",
         "--LabApp.extension_manager=readonly", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=str(home))
    base = f"http://127.0.0.1:{port}{PREFIX}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n" + (home / "server.log").read_text()[-3000:])
                time.sleep(0.3)
        yield {"base": base, "token": token, "port": port, "log": home / "server.log"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def _text(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.textContent || '')")


def _wait(page, predicate, what: str, timeout: float = 60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(250)
    shot = Path(os.environ.get("TMPDIR", "/tmp")) / "test_jupyterlab_timeout.png"
    page.screenshot(path=str(shot))
    failed = [t[-1500:] for t in _failures(page)]
    raise AssertionError(f"timed out waiting for {what} (titles {_text(page, '.image-title')}; screenshot {shot};"
                         f" failures in the outputs: {failed})")


def _failures(page) -> list[str]:
    """The outputs showing a Python failure (Panel shows a failed browser message's traceback in
    the page's output); ``innerText``: the inline scripts' text is not shown, so not counted."""
    outputs = page.eval_on_selector_all(".jp-OutputArea-output", "els => els.map(e => e.innerText || '')")
    return [t for t in outputs if "not in list" in t or "Traceback (most recent call last)" in t]


def _run_code_in_new_cell(page, code: str) -> None:
    """Append a code cell to the open notebook and run it, as a person typing in a new cell would."""
    page.evaluate("""async (code) => {
        const panel = window.jupyterapp.shell.currentWidget;
        const notebook = panel.content;
        const n = notebook.model.cells.length;
        notebook.model.sharedModel.insertCell(n, {cell_type: 'code', source: code});
        notebook.activeCellIndex = n;
        await window.jupyterapp.commands.execute('notebook:run-cell');
    }""", code)


def _active_bands(page) -> list[str]:
    """The labels of the active buttons of the band button group (g, r, i) in the notebook output."""
    return page.evaluate("""() => {
        const active = [];
        const walk = (root) => root.querySelectorAll('*').forEach(el => {
            if (el.classList && el.classList.contains('bk-btn-group')) {
                const buttons = [...el.querySelectorAll('button')];
                if (buttons.map(b => b.textContent.trim()).join(',') === 'g,r,i') {
                    buttons.filter(b => b.classList.contains('bk-active'))
                           .forEach(b => active.push(b.textContent.trim()));
                }
            }
            if (el.shadowRoot) walk(el.shadowRoot);
        });
        walk(document);
        return active;
    }""")


def _click_band(page, band: str) -> None:
    button = page.locator(".bk-btn-group button").filter(has_text=re.compile(rf"^\s*{band}\s*$"))
    assert button.count() == 1, f"{button.count()} buttons for band {band}"
    button.scroll_into_view_if_needed()
    button.click()


def _last_cell_output(page) -> str:
    return page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
        const cell = nb.widgets[nb.widgets.length - 1];
        return cell.outputArea ? cell.outputArea.node.textContent : ''; }""")


KERNEL_STATE = """
import panel as _pn
from panel.io.state import state as _state
_views = [v for v in _state._views.values() if v[3] is not None]
print("kernel:", "band", explorer.state.band, "| panel hold", _state._hold,
      "| docs held", [v[2].callbacks.hold_value for v in _views],
      "| events waiting", [len(v[2].callbacks._held_events) for v in _views],
      "| comms open", [bool(v[3]._comm) for v in _views],
      "| closed", [getattr(v[3]._comm, "_closed", None) for v in _views],
      "| client closed", [getattr(getattr(v[0], "_comms", {}).get(k, (None, None))[1], "_comm", None)
                          and v[0]._comms[k][1]._comm._closed for k, v in _state._views.items() if v[3] is not None],
      "| waiting", [[(type(e).__name__, type(getattr(e, "model", None)).__name__, getattr(e, "attr", None))
                     for e in v[2].callbacks._held_events][:8] for v in _views])
"""
# the kernel drops the next acknowledgement of the explorer's browser messages (a lost message)
DROP_NEXT_ACK = """
from panel.io.state import state as _state
_outputs = 0
for _ref, (_obj, _root, _doc, _comm) in list(_state._views.items()):
    _pair = getattr(_obj, "_comms", {}).get(_ref)
    if _comm is None or _pair is None or type(_root).__name__ != "Row":
        continue
    def _drop_once(*args, _client=_pair[1], **kwargs):
        del _client.send  # (the class's own send again)
    _pair[1].send = _drop_once
    _outputs += 1
print("dropping the next acknowledgement of", _outputs, "output(s)")
"""
# what the browser's Panel comm managers wait for (a message sent and no acknowledgement yet: blocked)
JS_COMM_STATE = """() => {
  const out = [];
  const seen = new Set();
  const walk = (v) => { if (!v || seen.has(v)) return; seen.add(v);
    if (v._event_buffer !== undefined) out.push({blocked: v._blocked, buffered: v._event_buffer.length,
                                                timeout_in_ms: v._timeout - Date.now()});
    for (const c of (v.child_views || [])) walk(c); };
  for (const v of Object.values(window.Bokeh ? Bokeh.index : {})) walk(v);
  const shared = window.PyViz && window.PyViz.shared_views;
  if (shared) for (const views of shared.values()) for (const v of views) walk(v);
  return out;
}"""


def _screenshot_whole(page, output, path: Path) -> None:
    """A screenshot of the whole of a cell's output: the window is made tall enough for it (the
    notebook scrolls inside the window, so a screenshot of the element alone shows only the part
    in view), then restored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    box = output.bounding_box()
    if box is not None:
        page.set_viewport_size({"width": size["width"], "height": min(6000, int(box["height"]) + 400)})
        page.wait_for_timeout(1500)  # (the page lays out again at the new size)
    try:
        output.scroll_into_view_if_needed()
        output.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
        page.wait_for_timeout(500)


def test_the_notebook_renders_offline_and_stays_live(lab):
    from playwright.sync_api import sync_playwright

    local = (f"http://127.0.0.1:{lab['port']}/", f"ws://127.0.0.1:{lab['port']}/")
    blocked: list[str] = []
    messages: list[str] = []

    def only_this_server(route):
        url = route.request.url
        if url.startswith(local) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1100})
            context.route("**/*", only_this_server)
            page = context.new_page()
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            page.goto(f"{lab['base']}lab/tree/explorer.ipynb?token={lab['token']}")
            page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget "
                                   "&& window.jupyterapp.shell.currentWidget.sessionContext "
                                   "&& window.jupyterapp.shell.currentWidget.sessionContext.session",
                                   timeout=90_000)
            # a slow browser (a busy machine's) draws the page while the next cells run: what they
            # set must still reach the page (explorer.notebook_comms.updates_when_shown)
            cpu = context.new_cdp_session(page)
            cpu.send("Emulation.setCPUThrottlingRate", {"rate": SLOW_BROWSER})
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

            # the explorer renders inline: the sky map and the image title, with content
            page.wait_for_selector(".sky-plot", timeout=300_000)  # (a loaded CI machine is slow)
            title = _wait(page, lambda: [t for t in _text(page, ".image-title") if "band" in t], "the image title")
            assert "deepCoadd" in title[0] or "calexp" in title[0], title
            output = page.locator(".jp-OutputArea-output", has=page.locator(".sky-plot")).first
            box = output.bounding_box()
            assert box is not None and box["height"] > 300, f"the explorer's output is a {box} strip"
            assert not [m for m in messages if "library is missing" in m or "Notyf is not defined" in m], messages

            # every cell has run once the last one (.show()) has printed: only then click, or a
            # cell still to run (state.band = ...) would undo the click (browser events are handled
            # between cells, on the kernel's main thread: explorer.notebook_comms.events_on_main_thread)
            said = _wait(page, lambda: [t for t in _text(page, ".jp-OutputArea-output")
                                        if "jupyter-server-proxy" in t], "the .show() message", timeout=120)
            cpu.send("Emulation.setCPUThrottlingRate", {"rate": 1})

            # the live part (a stale Select value from the browser, sent between a cascade's new
            # options and its new value, used to stop the page following: explorer.app.selectors.
            # TolerantSelect); the screenshot is taken whatever happens, for people checking its layout
            try:
                # cell 2 set the band from code (the repository's last band): the image and the band
                # buttons follow, with exactly that button active
                code_band = "i"  # (the sample's bands are g, r, i)
                _wait(page, lambda: any(f"band {code_band}" in t for t in _text(page, ".image-title")),
                      f"the image to show band {code_band}, set from code")
                _wait(page, lambda: _active_bands(page) == [code_band],
                      f"the band buttons to show band {code_band} (set from code) active")

                # a click afterwards changes the image (another band of the coadd), and the buttons
                other = next(b for b in ("g", "r", "i") if b != code_band)
                _click_band(page, other)
                _wait(page, lambda: any(f"band {other}" in t for t in _text(page, ".image-title")),
                      f"the image to switch to band {other} after the click")
                _wait(page, lambda: _active_bands(page) == [other], f"band {other} active after the click")

                # state set from code in a later cell shows on the page, and the cell's own output stays
                # in the cell (a click handled in another kernel thread used to capture it)
                target = next(b for b in ("g", "r", "i") if b not in (code_band, other))
                _run_code_in_new_cell(
                    page, f"explorer.state.band = {target!r}\nprint('now', explorer.state.describe())")
                _wait(page, lambda: any(f"band {target}" in t for t in _text(page, ".image-title")),
                      f"the page to follow explorer.state.band = {target!r}")
                _wait(page, lambda: _active_bands(page) == [target], f"band {target} active after the cell")
                printed = _wait(page, lambda: "now deepCoadd" in _last_cell_output(page) and _last_cell_output(page),
                                "the cell's print in its own output")
                assert f"band {target}" in printed, printed

                # and the next click is not lost
                _click_band(page, code_band)
                _wait(page, lambda: any(f"band {code_band}" in t for t in _text(page, ".image-title")),
                      f"the image to switch to band {code_band} after a click following the cell")
                _wait(page, lambda: _active_bands(page) == [code_band], f"band {code_band} active")

                # an acknowledgement Python never sends (a message lost between JupyterLab's subshells
                # and the main shell) does not hold the clicks after it back for good
                # (explorer.notebook_comms.comm_watchdog): the kernel drops its next one, two clicks follow
                _run_code_in_new_cell(page, DROP_NEXT_ACK)
                _wait(page, lambda: "dropping the next acknowledgement of 1 output" in _last_cell_output(page),
                      "the cell that drops an acknowledgement")
                _click_band(page, other)
                page.wait_for_timeout(300)  # (a separate message, sent while the first waits for its ack)
                _click_band(page, target)
                _wait(page, lambda: any(f"band {target}" in t for t in _text(page, ".image-title")),
                      f"the image to switch to band {target} after an acknowledgement was lost", timeout=40)
                _wait(page, lambda: _active_bands(page) == [target], f"band {target} active after the lost ack")
            except AssertionError as exc:  # say what the kernel and the browser hold, for whoever debugs it
                comm_before = page.evaluate(JS_COMM_STATE)
                _run_code_in_new_cell(page, KERNEL_STATE)
                said_kernel = _wait(page, lambda: "kernel:" in _last_cell_output(page) and _last_cell_output(page),
                                    "the kernel's state", timeout=60)
                python = [m[:1500] for m in messages if "Python" in m or m.startswith(("error", "warning"))][-8:]
                comm = page.evaluate(JS_COMM_STATE)
                kernel_log = [line for line in Path(lab["log"]).read_text(errors="replace").splitlines()
                              if "WARNING" in line or "ERROR" in line or "comm" in line.lower()][-10:]
                raise AssertionError(f"{exc}\n{said_kernel}\nbrowser comm managers: {comm_before} then {comm}\n"
                                     f"browser console: {python}\nserver log: {kernel_log}") from None
            finally:
                _screenshot_whole(page, output, ARTIFACTS / "explorer-output.png")

            # no browser message failed in the kernel (Panel shows such a traceback in the output)
            failed = _failures(page)
            assert failed == [], failed[0][-2000:]

            # .show() says where the page is: through jupyter-server-proxy, under the hub prefix
            url = next(w for w in said[0].split() if "/proxy/" in w)
            assert url.startswith(f"{PREFIX}proxy/") and url.endswith("/explorer"), said[0]
            shown = context.new_page()
            shown.goto(f"http://127.0.0.1:{lab['port']}{url}", timeout=120_000)  # (the kernel builds it)
            shown.wait_for_selector(".sky-plot", timeout=60_000)
            _wait(shown, lambda: [t for t in _text(shown, ".image-title") if "band" in t],
                  "the shown page's image title")
        finally:
            browser.close()
    assert blocked == [], f"requests left 127.0.0.1: {blocked[:5]}"
    assert not [m for m in messages if "Python callback returned" in m], messages  # a cell's print, stolen
