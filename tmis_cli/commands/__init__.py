"""Command modules of ``tmis``.

Each module exposes ``register(subparsers) -> None``: it adds its subcommand(s) with
``subparsers.add_parser(...)`` and binds the handler with ``set_defaults(func=...)``. A handler
takes the parsed ``argparse.Namespace`` and returns an exit code (``None`` means 0). List the
module in ``COMMAND_MODULES`` in ``tmis_cli/main.py``.
"""
