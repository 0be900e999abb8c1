"""Control subcommands: `runwrap ls` and friends (the form without `--`)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from runwrap import __version__
from runwrap.configfile import find_config_file, load_config_file, resolve_root
from runwrap.errors import ExitCode
from runwrap.options import RUN_HELP
from runwrap.overview import overview
from runwrap.timefmt import parse_iso
from runwrap.units import format_duration


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and 125, like every runwrap error
        print(f"runwrap: {message}; see runwrap --help", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the control form; the run form's options are in its description."""
    parser = _Parser(
        prog="runwrap",
        usage="runwrap [OPTIONS] -- COMMAND [ARG...]\n       runwrap SUBCOMMAND [...]",
        description=RUN_HELP.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"runwrap {__version__}")
    sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.error = parser.error  # type: ignore[method-assign]
        p.add_argument("--root", help="where runs are kept (also $RUNWRAP_ROOT)")
        p.add_argument("--config", help="YAML config file (also $RUNWRAP_CONFIG)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    add("ls", "every task: last status, since when, and its running runs")
    return parser


def control_main(argv: list[str]) -> int:
    """Run a control subcommand; return the exit status."""
    parser = build_parser()
    if not argv:
        parser.print_help()
        return ExitCode.OK
    if argv[0] not in ("ls", "-h", "--help", "--version") and not argv[0].startswith("-"):
        print(
            f"runwrap: unknown subcommand {argv[0]!r}; to run a command, put '--' before it: "
            f"runwrap [OPTIONS] -- {argv[0]} ...",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    if argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        print(
            "runwrap: put '--' before the command: runwrap [OPTIONS] -- COMMAND [ARG...]",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    args = parser.parse_args(argv)
    config = load_config_file(find_config_file(args.config))
    root = resolve_root(args.root, config)
    return cmd_ls(root, args.json)


def _ago(iso_text: object, now: float) -> str:
    ts = parse_iso(iso_text)
    if ts is None:
        return "-"
    return f"{format_duration(max(0.0, now - ts))} ago"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
    return "\n".join(lines)


def cmd_ls(root: str, as_json: bool) -> int:
    """Print every task with its last status and running runs."""
    tasks = overview(root)
    if as_json:
        print(json.dumps(tasks, indent=2, sort_keys=True))
        return ExitCode.OK
    if not tasks:
        print(f"no tasks under {root}")
        return ExitCode.OK
    now = time.time()
    rows = [["TASK", "STATUS", "SINCE", "LAST RUN", "DURATION", "RUNNING"]]
    for item in tasks:
        state = item["state"]
        running = item["running"]
        status = state.get("status") or state.get("last_status") or "-"
        if item["lost"]:
            status = "lost"
        now_running = ", ".join(
            f"pid {m.get('pid')} for {_ago(m.get('started_at'), now)[:-4]}" for m in running
        )
        rows.append(
            [
                item["task"],
                status,
                _ago(state.get("since"), now),
                _ago(state.get("last_started_at"), now),
                format_duration(state.get("last_duration_s")),
                now_running or "-",
            ]
        )
    print(_table(rows))
    return ExitCode.OK
