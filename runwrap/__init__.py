"""runwrap: what cron does not do, around the jobs cron already runs."""

__version__ = "0.1.0"
SCHEMA = 1
