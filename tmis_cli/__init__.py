"""The ``tmis`` command line: one entry point, one module per command group.

Commands raise ``CliError`` for failures a person can act on; ``tmis_cli.main`` prints its
message on one line and exits 1. Any other exception is a bug and keeps its traceback.
"""


class CliError(Exception):
    """An expected failure: the message is printed as ``tmis: error: <message>``."""
