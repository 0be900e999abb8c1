"""One execution of a task: the guard, the job's process tree, supervision, the final record."""
