"""Subcommands of the ``course`` command, one module each.

Every module here defines ``register(subparsers)``: it adds its parser and sets
``func=<callable(args) -> int>`` as the parser default. ``course_lib.cli`` discovers the
modules, so adding a subcommand means adding a file, nothing else.
"""
