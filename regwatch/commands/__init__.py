"""Subcommands of the ``regwatch`` CLI: one module per command, each exposing ``command``."""
