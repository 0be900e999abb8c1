"""sitegen kept running: --watch (inotify, or polling), --serve, its heartbeat file and late
notices."""
