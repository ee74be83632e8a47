"""State shared by every subcommand: where the config and store are, loaded on first use."""

from __future__ import annotations

from dataclasses import dataclass, field

from regwatch.config import Config, load_config
from regwatch.store import DEFAULT_DB_PATH, Store, connect


@dataclass
class AppContext:
    """What the global options said; the config is loaded on first use."""

    config_path: str
    config_explicit: bool = False
    db_override: str | None = None
    db_wait: float = 10.0
    debug: bool = False
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        """The validated config (defaults when the default file is absent and was not asked for)."""
        if self._config is None:
            self._config = load_config(self.config_path if self.config_explicit else None)
        return self._config

    def set_config(self, cfg: Config) -> None:
        """Use ``cfg`` instead of loading a file (``demo`` does this)."""
        self._config = cfg

    @property
    def db_path(self) -> str:
        """``--db``, else the config's store.path, else ./regwatch.duckdb."""
        if self.db_override:
            return self.db_override
        cfg = self.config
        return cfg.store.path if cfg.source != "<defaults>" else DEFAULT_DB_PATH

    def store(self, *, read_only: bool = False) -> Store:
        """Open the store (the caller closes it; ``with ctx.store() as s:`` works)."""
        return connect(self.db_path, read_only=read_only, wait_seconds=self.db_wait)
