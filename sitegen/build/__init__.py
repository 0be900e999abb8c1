"""What changed and what to do about it: the no-change stamp, the build cache, the
workers of a full build, and the Site that brings OUT up to date."""
