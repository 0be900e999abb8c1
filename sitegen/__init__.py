"""sitegen: the static dashboard built from what runwrap wrote."""
