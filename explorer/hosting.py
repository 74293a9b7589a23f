"""Several ``repo-explorer serve`` processes behind nginx: the shipped configuration, made concrete.

``docs/nginx.conf`` is the configuration docs/hosting.md explains (websocket upgrade, session
affinity by a cookie naming the backend, new browsers to the backend with the fewest
connections). :func:`nginx_config` fills in the ports of one deployment and keeps nginx's logs,
pid and temporary files in one directory, so the tests and ``bench/load.py --nginx`` run that
very file rather than a copy of it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import ExplorerError

#: The configuration docs/hosting.md ships (in a checkout of the repository).
NGINX_CONF = Path(__file__).resolve().parents[1] / "docs" / "nginx.conf"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_config(listen_port: int, backend_ports: list[int], workdir: Path, template: str | None = None) -> str:
    """``template`` (default: docs/nginx.conf) listening on 127.0.0.1:``listen_port`` in front of
    the explorer servers on 127.0.0.1:``backend_ports``, with its pid, logs and temporary files in
    ``workdir``.

    Raises
    ------
    ExplorerError
        The template has no upstream ``server`` lines, no backend lines in the cookie's ``map`` or
        no ``listen`` line to substitute.
    """
    text = NGINX_CONF.read_text() if template is None else template
    servers = "".join(f"        server 127.0.0.1:{p};\n" for p in backend_ports)
    text, n = re.subn(r"(?:        server 127\.0\.0\.1:\d+;\n)+", servers, text)
    if n != 1:
        raise ExplorerError("nginx configuration: the upstream's server lines were not found")
    # the backends a browser's cookie may name: the same list
    known = "".join(f'        "127.0.0.1:{p}" 127.0.0.1:{p};\n' for p in backend_ports)
    text, n = re.subn(r'(?:        "127\.0\.0\.1:\d+" +127\.0\.0\.1:\d+;\n)+', known, text)
    if n != 1:
        raise ExplorerError("nginx configuration: the backend cookie's map lines were not found")
    text, n = re.subn(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{listen_port};", text)
    if n != 1:
        raise ExplorerError("nginx configuration: the listen line was not found")
    workdir = Path(workdir)
    local = "".join(f"    {name}_temp_path {workdir / name};\n" for name in TEMP_PATHS)
    local += f"    access_log {workdir / 'access.log'};\n"
    text = text.replace("http {\n", "http {\n" + local, 1)
    top = f"pid {workdir / 'nginx.pid'};\nerror_log {workdir / 'error.log'};\n"
    if os.geteuid() == 0:
        top += "user root;\n"  # workers as root only when nginx is started as root (its files are root's)
    return top + text
