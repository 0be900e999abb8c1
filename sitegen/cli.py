"""sitegen's command line: parse, build a SiteConfig, call one core function.

A plain one-shot `sitegen` (cron's) first asks sitegen/build/stamp.py whether anything
changed, with stats alone: argparse, logging and the renderer are imported
only when there is something to do.
"""

from __future__ import annotations

import sys

from runwrap import __version__
from runwrap.errors import ExitCode, RunwrapError
from sitegen.build import stamp

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up
if TYPE_CHECKING:
    import argparse


def parser() -> argparse.ArgumentParser:
    """The argument parser (also read by the docs test)."""
    import argparse

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # one line and 125, as runwrap does
            print(f"sitegen: {message}; see sitegen --help", file=sys.stderr)
            raise SystemExit(ExitCode.USAGE)

    p = _Parser(
        prog="sitegen",
        description="Build the static dashboard and history of runwrap's runs.",
    )
    p.add_argument("--version", action="version", version=f"sitegen {__version__}")
    p.add_argument(
        "--root", metavar="DIR", help="run root (default: $RUNWRAP_ROOT, config, state dir)"
    )
    p.add_argument(
        "--out", metavar="DIR", help="output directory (default: site.out in the config)"
    )
    p.add_argument("--theme", metavar="NAME|DIR", help="theme name or directory (default: default)")
    p.add_argument("--title", metavar="T", help="site title")
    p.add_argument("--site-url", metavar="URL", help="public URL of OUT, for feeds and links")
    p.add_argument("--config", metavar="FILE", help="config file (default: $RUNWRAP_CONFIG, ...)")
    p.add_argument(
        "--publish",
        choices=("link", "copy"),
        help="how logs and artifacts reach OUT: hard links (default) or copies",
    )
    p.add_argument("--full", action="store_true", help="rebuild everything, ignoring the cache")
    p.add_argument(
        "--watch", action="store_true", help="keep rebuilding what changes until stopped"
    )
    p.add_argument(
        "--poll", action="store_true", help="with --watch: poll instead of inotify (NFS)"
    )
    p.add_argument(
        "--serve", metavar="[HOST:]PORT", help="also serve OUT over HTTP (default host 127.0.0.1)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("-v", "--verbose", action="store_true", help="log every update")
    return p


class _Bar:
    """A progress bar on a terminal for a long first build; silent otherwise."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty() or total < 1000:
            return
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\rbuilding [{'#' * filled}{'.' * (width - filled)}] {done}/{total} runs")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `sitegen` command."""
    import gc

    # cron's one-shot update is a short process that builds large, acyclic JSON data
    # (the build cache): the cyclic collector scanning it again and again took about a
    # tenth of an update after one run. A full build, --watch and --serve turn it back
    # on (_build, Site.update): they make many pages, or live long. A caller in the same
    # process (a test, a script) gets its collector back as it was.
    was = gc.isenabled()
    gc.disable()
    try:
        argv = sys.argv[1:] if argv is None else argv
        if argv == ["--version"]:
            print(f"sitegen {__version__}")
            return ExitCode.OK
        if stamp.unchanged(argv):
            return ExitCode.OK  # cron's usual case: nothing to write, nothing else imported
        return _build(argv)
    finally:
        (gc.enable if was else gc.disable)()  # a full build turned it on: as found, either way


def _build(argv: list[str]) -> int:
    import signal
    import threading

    from sitegen import logs

    args = _plain(argv) or parser().parse_args(argv)
    if args.full or args.watch or args.serve:
        import gc

        gc.enable()
    # A one-shot build runs from cron, which mails any output: quiet unless asked.
    chatty = (args.watch or args.serve) and not args.quiet
    level = logs.DEBUG if args.verbose else logs.INFO if chatty else logs.WARNING

    def setup() -> None:
        import logging

        # Only sitegen's own loggers get chattier with -v (watchdog's debug output is noise).
        logging.basicConfig(level=logging.WARNING, format="sitegen: %(message)s", stream=sys.stderr)
        logging.getLogger("sitegen").setLevel(level)

    # logging itself only once a message is given (a quiet one-shot update gives none).
    logs.configure(level, setup)
    if args.watch or args.serve:
        logs.load()  # a long-lived process: its other modules use logging itself
    if args.poll and not args.watch:
        print("sitegen: --poll needs --watch; see sitegen --help", file=sys.stderr)
        return ExitCode.USAGE
    bar = _Bar()
    try:
        from sitegen.config import resolve_config
        from sitegen.dispatch import run

        cfg = resolve_config(
            root=args.root,
            out=args.out,
            theme=args.theme,
            title=args.title,
            site_url=args.site_url,
            publish=args.publish,
            config=args.config,
            watch=args.watch,
            poll=args.poll,
            serve=args.serve,
        )
        stop = threading.Event()
        # The handler only sets a flag the loop acts on (SIGTERM from systemd: a clean stop).
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if args.watch:  # one watcher per OUT, held until this process ends
            from sitegen.live.watch import claim_out

            claim_out(cfg.out)
        build_key = _stamp_key(argv)
        # OUT is about to change (--watch too, perhaps with other options): no stamp
        # until a one-shot build leaves it whole again.
        stamp.forget(cfg.out)
        site = run(cfg, full=args.full, progress=bar, announce=_announce, stop=stop)
        if build_key is not None and site.stamp is not None:
            stamp.save(cfg.out, build_key, site.stamp)
    except RunwrapError as e:  # sitegen's own errors are runwrap's kind: one line, 125
        bar.close()
        print(f"sitegen: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # OUT full, read-only, or in the way of a directory we need
        bar.close()
        where = f"{e.filename}: " if e.filename else ""
        print(f"sitegen: cannot build the site: {where}{e.strerror or e}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        bar.close()
        return ExitCode.SIGNAL_BASE + signal.SIGINT
    bar.close()
    return ExitCode.OK


def _plain(argv: list[str]) -> argparse.Namespace | None:
    """The options of a plain one-shot command line (stamp.simple_options: cron's), as
    parser() would give them, without argparse (and the gettext and locale it imports);
    None for anything else, which argparse parses."""
    opts = stamp.simple_options(argv)
    if opts is None or any(v.startswith("-") for v in opts.values()):
        return None  # argparse would read "--root -q" as a missing value
    if opts.get("publish", "link") not in ("link", "copy"):
        return None  # argparse says which choices there are
    from types import SimpleNamespace

    args = dict.fromkeys(("root", "out", "theme", "title", "site_url", "config", "publish"))
    args.update({k.replace("-", "_"): v for k, v in opts.items()})
    quiet = any(a in stamp.QUIET for a in argv)
    flags = {"full": False, "watch": False, "poll": False, "serve": None, "verbose": False}
    return SimpleNamespace(**args, **flags, quiet=quiet)  # type: ignore[return-value]


def _stamp_key(argv: list[str]) -> str | None:
    """The stamp key of a one-shot build (a full or verbose one stamps for the plain
    command line); None for --watch, --serve, or when the key cannot be had."""
    from sitegen.build import stamp

    opts = stamp.simple_options([a for a in argv if a not in ("--full", "-v", "--verbose")])
    if opts is None:
        return None
    try:
        return stamp.key(opts)[0]
    except Exception:  # a config the real build read differently: no stamp, no shortcut
        return None


def _announce(url: str) -> None:
    print(f"serving the site at {url}", flush=True)
