"""The on-disk contract: ROOT's layout, the files in it, and the queries over them.

Readers and writers alike (runwrap's commands, sitegen) go through here."""
