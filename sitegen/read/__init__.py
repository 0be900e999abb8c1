"""What sitegen reads of ROOT: a job's files without leaving ROOT, the signatures that
say what changed, safe values, lateness (each task's state comes from runwrap.store.query,
the read model every surface asks)."""
