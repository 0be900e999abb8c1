"""`sitegen --serve`: OUT over HTTP for a quick look (the demo), never a production server."""

from __future__ import annotations

import functools
import logging
import posixpath
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

log = logging.getLogger(__name__)

# The files a job wrote, as published under OUT (the run pages themselves are ours).
_JOB_FILE = re.compile(r"^/tasks/.+/runs/[^/]+/(files/|std(out|err)\.log$)")


class _Handler(SimpleHTTPRequestHandler):
    """Static files; what a job wrote is sandboxed, logs are plain text."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".log": "text/plain; charset=utf-8",
        ".md": "text/plain; charset=utf-8",
        ".atom": "application/atom+xml",
        ".json": "application/json",
    }

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        # The file served is found from the decoded, normalised path: judge that one,
        # or /runs/R/%66iles/x.html and /runs/R/./files/x.html would escape the sandbox.
        served = posixpath.normpath(unquote(self.path.split("?", 1)[0].split("#", 1)[0]))
        if _JOB_FILE.search(served):
            # Logs and artifacts are the job's files: shown, but never run as part of the site.
            self.send_header("Content-Security-Policy", "sandbox")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def start_server(out: str, host: str, port: int) -> tuple[ThreadingHTTPServer, str]:
    """Serve `out` in a background thread; return the server and its URL."""
    handler = functools.partial(_Handler, directory=out)
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        from sitegen.errors import SitegenError

        raise SitegenError(f"cannot serve on {host}:{port}: {e.strerror}") from None
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="sitegen-serve", daemon=True)
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    return server, f"http://{bound_host}:{bound_port}/"
