"""`sitegen --serve`: OUT over HTTP for a quick look (the demo), never a production server."""

from __future__ import annotations

import functools
import logging
import posixpath
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from runwrap.store.siteurls import is_job_file

log = logging.getLogger(__name__)


def _served_path(raw: str) -> str | None:
    """The path a request names, decoded and normalised as the file to serve is found
    (SimpleHTTPRequestHandler.translate_path); None if it is not UTF-8 (no name in OUT is)."""
    try:
        return posixpath.normpath(unquote(raw.split("?", 1)[0].split("#", 1)[0], errors="strict"))
    except UnicodeDecodeError:
        return None


class _Handler(SimpleHTTPRequestHandler):
    """Static files; what a job wrote is sandboxed, logs are plain text.

    Like the shipped nginx config: no dot file (the build cache), no directory listing.
    """

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".log": "text/plain; charset=utf-8",
        ".md": "text/plain; charset=utf-8",
        ".atom": "application/atom+xml",
        ".json": "application/json",
    }

    def send_head(self) -> object:
        path = _served_path(self.path)
        if path is not None and "\0" in path:
            self.send_error(HTTPStatus.BAD_REQUEST, "NUL in the path")
            return None
        # Judged on the normalised path, the one served: /tasks/../.sitegen is /.sitegen.
        if path is None or any(part.startswith(".") for part in path.split("/")):
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        return super().send_head()

    def list_directory(self, path: str) -> None:
        self.send_error(HTTPStatus.NOT_FOUND)  # a directory without index.html: no listing

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        # The file served is found from the decoded, normalised path: judge that one,
        # or /runs/R/%66iles/x.html and /runs/R/./files/x.html would escape the sandbox.
        served = _served_path(self.path) or ""
        if is_job_file(served):
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
