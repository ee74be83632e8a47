"""Typed exceptions that the library raises and the CLI maps to exit codes."""


class RegwatchError(Exception):
    """Base of every error regwatch raises on purpose; the message is one line for people."""

    exit_code = 1


class ConfigError(RegwatchError):
    """The configuration (or a command-line value) is invalid: exit 2."""

    exit_code = 2


class UsageError(RegwatchError):
    """A command was called with values that cannot work together: exit 2."""

    exit_code = 2


class StoreError(RegwatchError):
    """The DuckDB store cannot be opened, migrated or queried."""


class ProbeError(RegwatchError):
    """A probe could not be set up (a failed pull is a result, not an exception)."""


class IngestError(RegwatchError):
    """A log source cannot be read at all (bad lines are rejects, not exceptions)."""


class QueryError(RegwatchError):
    """A named or ad-hoc query is unknown, malformed or tries to write."""
