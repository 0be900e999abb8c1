"""The control subcommands (ls, show, history, feedback, parse, kill, tail): thin, they print."""
