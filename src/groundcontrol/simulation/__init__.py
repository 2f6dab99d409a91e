"""Journey simulation: replay case events on a virtual clock through the service's own
planning, store and dispatcher, with simulated channels, and report the dark time.

`events_file` reads the history, `synthetic` makes one up, `channels` stand in for the
providers, `runner` drives the virtual clock, `measures` reads the timelines back into
per-case figures and `report_*` print them.
"""
