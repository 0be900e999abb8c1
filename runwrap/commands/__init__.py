"""The subcommands (run, ls, show, history, diff, feedback, parse, kill, tail, check, crontab,
systemd, mute, unmute, ack, retire): thin, they print; the run form itself is runwrap/run/.
Their names are runwrap/cli.py's (SUBCOMMANDS): the run form tells itself from them
without importing this package."""


def subcommand_root(root: str | None, config: dict, must_exist: bool = True) -> str:
    """The run root a subcommand reads (--root, $RUNWRAP_ROOT, the config, the default).

    A root that does not exist is a mistyped --root far more often than an empty
    one: an error, not "no tasks".
    """
    import os

    from runwrap.configfile import resolve_root
    from runwrap.errors import RunwrapError

    resolved = resolve_root(root, config)
    if must_exist and not os.path.isdir(resolved):
        raise RunwrapError(
            f"run root {resolved} does not exist; name it with --root or $RUNWRAP_ROOT "
            "(or run a task first)"
        )
    return resolved


def plain_words(
    words: list[str], valued: tuple[str, ...], short: str | None = None
) -> tuple[dict[str, list[str]], list[str], bool] | None:
    """A subcommand's command line read without argparse (which imports every
    subcommand: `ls` and `history` would take twice as long): ({option: its values in
    order}, the other words, whether --json was given), or None unless every word is
    plain: `--opt value`, `--opt=value`, `--json`, a word not starting with "-" (and
    `short`, "-o": `-o VALUE` or `-oVALUE` for valued[-1]). argparse then reads the
    rest (--help, an abbreviation, a value that looks like an option) and says what is
    wrong, as for every subcommand."""
    given: dict[str, list[str]] = {name: [] for name in valued}
    rest: list[str] = []
    as_json = False
    rest_at = -1  # where the other words began: argparse takes them as one run only
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, value = word.partition("=")
        if short and word.startswith(short):
            name, eq, value = valued[-1], word[len(short) :], word[len(short) :]
        if word == "--json":
            as_json = True
        elif word and not word.startswith("-"):
            if rest and rest_at + len(rest) != i:
                return None  # `ls a --json b`: argparse refuses the second run of words
            rest_at = i if not rest else rest_at
            rest.append(word)
        elif name in given and (eq or (i + 1 < len(words) and not words[i + 1].startswith("-"))):
            if not eq:
                i += 1
                value = words[i]
            given[name].append(value)
        else:
            return None
        i += 1
    return given, rest, as_json


def plain_root(root: str | None, config: str | None) -> str:
    """The run root of a command line plain_words() read (its last --root and --config,
    or None), once the imports are frozen (freeze_imports)."""
    from runwrap.configfile import find_config_file, load_config_file

    freeze_imports()
    return subcommand_root(root, load_config_file(find_config_file(config)))


def warn_skipped() -> None:
    """What could not be read while listing: one line on stderr, after the output."""
    import sys

    from runwrap.store.lookup import skipped_warning

    warning = skipped_warning()
    if warning:
        print(f"runwrap: {warning}", file=sys.stderr)


def freeze_imports() -> None:
    """Tell the cyclic garbage collector that what the imports made lives as long as the
    command (gc.freeze), before a subcommand reads tasks or runs.

    Reading fills the collector's youngest generation over and over (every state,
    manifest and view is a dict); every tenth time it walks the older one too, which
    holds every function, class and module dict the imports made. `runwrap ls` on 50
    tasks crossed that line and paid more for the walk than for five tasks' reads.
    Frozen, those objects are never walked again; only what the command makes is.
    """
    import gc

    gc.freeze()
