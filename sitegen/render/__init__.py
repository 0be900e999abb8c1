"""Pages from data: run summaries and page models, their contexts, the timeline and
chart, the Jinja environment, and the writer that renders them into OUT."""
