"""Subcommands of ``gridconsole``: each module has ``add_parser(subparsers)``
that sets ``func`` to an ``async def run(args) -> int``."""
