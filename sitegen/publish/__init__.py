"""Files into OUT: atomic replacement, names safe to publish, removal of what sitegen made,
the metrics file."""
