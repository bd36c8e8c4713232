"""scsafety-tui: the SC-Safety benchmark in the terminal."""

import logging as _logging

# The package's records go to the log file (logs.setup_logging) or nowhere: never to the root logger,
# whose last-resort handler would print them over the TUI or into the CLI's output.
_log = _logging.getLogger(__name__)
_log.addHandler(_logging.NullHandler())
_log.propagate = False
_log.setLevel(_logging.INFO)
