"""The one exception the OCI client raises: a failed step, named by a probe reason."""

from __future__ import annotations

from regwatch.catalog import PROBE_REASONS
from regwatch.errors import RegwatchError


class OciError(RegwatchError):
    """A step of a pull failed; ``reason`` is one of ``catalog.PROBE_REASONS``.

    The message is one line for people and never holds a credential or a token.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        if reason not in PROBE_REASONS:
            raise ValueError(f"unknown probe reason {reason!r}")  # a programming error
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
