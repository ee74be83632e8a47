"""Load the YAML configuration into typed, validated, immutable objects.

Every error names the file and the key path (``registries[0].regions[1].url: not an http(s) URL``).
Secrets are references (``password_env`` / ``password_file``) resolved only when used; no repr,
log line or error message ever holds a secret value.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from regwatch.catalog import PULL_DURATION_BUCKETS, SLI_KINDS
from regwatch.errors import ConfigError
from regwatch.timeutil import parse_duration

DEFAULT_CONFIG_PATH = "regwatch.yaml"
LABEL_VALUE = re.compile(r"^[a-z0-9_-]+$")
REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
REFERENCE = re.compile(r"^(?:[\w][\w.-]{0,127}|[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,})$")
PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$")


class _Invalid(Exception):
    """A validation failure at a key path; turned into ConfigError with the file name."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)


# --- field checks ---------------------------------------------------------------------------------


def _label(value: str) -> str | None:
    return (
        None if LABEL_VALUE.match(value) else "must match [a-z0-9_-]+ (it becomes a Prometheus label value)"
    )


def _http_url(value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError:
        return "not an http(s) URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    if parts.query or parts.fragment:
        return "must not have a query or fragment"
    return None


def _repository(value: str) -> str | None:
    return (
        None
        if REPOSITORY.match(value)
        else "not a valid repository name (lowercase path like platform/canary)"
    )


def _reference(value: str) -> str | None:
    return None if REFERENCE.match(value) else "not a tag or a digest"


def _platform(value: str) -> str | None:
    return None if PLATFORM.match(value) else "not a platform like linux/amd64 or linux/arm64/v8"


def _duration(value: str) -> str | None:
    try:
        parse_duration(value)
    except ValueError as exc:
        return str(exc)
    return None


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _ratio_open(value: float) -> str | None:
    return None if 0 < value < 1 else "must be between 0 and 1 (exclusive), e.g. 0.999"


def _ratio(value: float) -> str | None:
    return None if 0 <= value <= 1 else "must be between 0 and 1"


def _env_name(value: str) -> str | None:
    return None if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value) else "not an environment variable name"


def _listen(value: str) -> str | None:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        return "not HOST:PORT (e.g. 127.0.0.1:9817)"
    return None


def check(fn: typing.Callable[[Any], str | None], **kw: Any) -> Any:
    """Attach a validation function to a dataclass field."""
    kw.setdefault("metadata", {})
    kw["metadata"] = {**kw["metadata"], "check": fn}
    return field(**kw)


# --- secrets ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """A reference to a secret in the environment or a file; read only when ``reveal`` is called."""

    env: str | None = None
    file: str | None = None
    key_path: str = ""

    def reveal(self) -> str:
        """Return the secret value; raise ConfigError (naming the reference, not the value)."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"{self.key_path}: environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return Path(self.file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                f"{self.key_path}: cannot read secret file {self.file}: {exc.strerror}"
            ) from None

    def describe(self) -> str:
        """Say where the secret comes from, never what it is."""
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"

    def __repr__(self) -> str:
        return f"Secret({self.describe()})"

    __str__ = __repr__


def _secret(obj: Any, prefix: str, key_path: str) -> Secret | None:
    env = getattr(obj, f"{prefix}_env")
    file = getattr(obj, f"{prefix}_file")
    if env is None and file is None:
        return None
    return Secret(env=env, file=file, key_path=key_path)


# --- the schema -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TLSConfig:
    verify: bool = True
    ca_file: str | None = None


@dataclass(frozen=True)
class Region:
    name: str = check(_label)
    url: str = check(_http_url)
    tls: TLSConfig = TLSConfig()


@dataclass(frozen=True)
class AuthPath:
    name: str = check(_label)
    username: str | None = None
    password_env: str | None = check(_env_name, default=None)
    password_file: str | None = None
    push: bool = False  # whether this path has push rights (replication probes)

    @property
    def password(self) -> Secret | None:
        return _secret(self, "password", f"auth_paths[{self.name}].password")

    @property
    def anonymous(self) -> bool:
        return self.username is None


@dataclass(frozen=True)
class Canary:
    repository: str = check(_repository)
    reference: str = check(_reference)
    platform: str = check(_platform, default="linux/amd64")

    @property
    def label(self) -> str:
        """The ``canary`` label value: ``repo:tag`` or ``repo@digest``."""
        sep = "@" if ":" in self.reference else ":"
        return f"{self.repository}{sep}{self.reference}"


@dataclass(frozen=True)
class Registry:
    name: str = check(_label)
    regions: list[Region] = field(default_factory=list)
    auth_paths: list[AuthPath] = field(default_factory=lambda: [AuthPath(name="anonymous")])
    canaries: list[Canary] = field(default_factory=list)


@dataclass(frozen=True)
class ProbeConfig:
    interval_seconds: float = check(_positive, default=60.0)
    timeout_seconds: float = check(_positive, default=30.0)
    concurrency: int = check(_positive, default=4)
    jitter_seconds: float = 5.0
    reuse_tokens: bool = False  # reuse bearer tokens within one round (default: fresh token per probe)
    max_manifest_bytes: int = check(_positive, default=4 * 1024 * 1024)


@dataclass(frozen=True)
class StoreConfig:
    path: str = "regwatch.duckdb"


@dataclass(frozen=True)
class LogSource:
    path: str
    format: Literal["auto", "distribution", "nginx", "notifications"] = "auto"
    registry: str = check(_label, default="default")
    region: str = check(_label, default="default")
    log_format: str | None = None  # nginx log_format string; default "combined"


@dataclass(frozen=True)
class SloFilters:
    registry: str | None = None
    region: str | None = None
    repository: str | None = None  # glob pattern, e.g. "platform/*"


@dataclass(frozen=True)
class SloAlerting:
    page: bool = True
    ticket: bool = True
    min_events: int | None = check(_positive, default=None)  # per long window; default alerting.min_events


@dataclass(frozen=True)
class Slo:
    name: str = check(_label)
    sli: Literal["pull_success", "first_attempt_success", "pull_latency", "push_success"] = "pull_success"
    source: Literal["probes", "logs"] = "probes"
    objective: float = check(_ratio_open, default=0.999)
    window: str = check(_duration, default="30d")
    threshold_seconds: float | None = None
    description: str = ""
    filters: SloFilters = SloFilters()
    alerting: SloAlerting = SloAlerting()

    @property
    def window_seconds(self) -> float:
        return parse_duration(self.window)


@dataclass(frozen=True)
class EgressConfig:
    usd_per_gib: dict[str, float] = field(default_factory=lambda: {"default": 0.09})

    def price(self, region: str) -> float:
        """USD per GiB for a region (its own price, else ``default``)."""
        return self.usd_per_gib.get(region, self.usd_per_gib.get("default", 0.0))


@dataclass(frozen=True)
class SliConfig:
    retry_window_seconds: float = check(_positive, default=60.0)


@dataclass(frozen=True)
class NotificationsConfig:
    authorization_env: str | None = check(_env_name, default=None)
    authorization_file: str | None = None
    max_body_bytes: int = check(_positive, default=1024 * 1024)

    @property
    def authorization(self) -> Secret | None:
        return _secret(self, "authorization", "serve.notifications.authorization")


@dataclass(frozen=True)
class ServeConfig:
    listen: str = check(_listen, default="127.0.0.1:9817")
    web_config_file: str | None = None  # Prometheus exporter-toolkit web config (basic auth, TLS)
    max_series_per_metric: int = check(_positive, default=2000)
    slo_interval_seconds: float = check(_positive, default=60.0)
    ingest_interval_seconds: float = check(_positive, default=15.0)
    notifications: NotificationsConfig = NotificationsConfig()


@dataclass(frozen=True)
class AlertingConfig:
    runbook_base_url: str = "https://github.com/regwatch/regwatch/blob/main/docs/runbooks.md"
    dashboard_base_url: str = "http://localhost:3000/d"
    min_events: int = check(_positive, default=10)  # low-traffic guard: events per burn window
    consecutive_failures: int = check(_positive, default=3)
    auth_failure_ratio: float = check(_ratio_open, default=0.1)
    replication_lag_seconds: float = check(_positive, default=300.0)
    storage_usage_ratio: float = check(_ratio_open, default=0.75)
    ingest_lag_seconds: float = check(_positive, default=900.0)
    evaluation_interval: str = check(_duration, default="1m")
    exporter_job: str = "regwatch"  # Prometheus job label of the scrape of `regwatch serve` (up == 0 alert)
    # PromQL giving the registry storage's used ratio (0..1); None: node_exporter's filesystem metrics for
    # storage_mountpoint; "" turns the storage alert off (for registries whose storage exposes nothing).
    storage_usage_expr: str | None = None
    storage_mountpoint: str = "/var/lib/registry"


@dataclass(frozen=True)
class Replication:
    registry: str = check(_label)
    from_region: str = check(_label)
    auth_path: str = check(_label)
    repository: str = check(_repository)
    timeout_seconds: float = check(_positive, default=300.0)
    poll_interval_seconds: float = check(_positive, default=2.0)
    to_regions: list[str] | None = None  # default: every other region of the registry
    chunked: bool = False
    keep_tags: bool = False


@dataclass(frozen=True)
class ProtectedTags:
    registry: str = check(_label)
    repository: str = check(_repository)
    tags: list[str] = field(default_factory=list)
    auth_path: str | None = None  # default: the registry's first auth path
    regions: list[str] | None = None  # default: every region


@dataclass(frozen=True)
class Config:
    registries: list[Registry] = field(default_factory=list)
    probe: ProbeConfig = ProbeConfig()
    store: StoreConfig = StoreConfig()
    logs: list[LogSource] = field(default_factory=list)
    slos: list[Slo] = field(default_factory=list)
    egress: EgressConfig = EgressConfig()
    sli: SliConfig = SliConfig()
    serve: ServeConfig = ServeConfig()
    alerting: AlertingConfig = AlertingConfig()
    replication: list[Replication] = field(default_factory=list)
    protected_tags: list[ProtectedTags] = field(default_factory=list)
    source: str = field(default="<defaults>", metadata={"internal": True})

    def registry(self, name: str) -> Registry:
        """Return the registry called ``name`` (KeyError when there is none)."""
        for r in self.registries:
            if r.name == name:
                return r
        raise KeyError(name)

    def secrets(self) -> list[Secret]:
        """Every secret reference in the config, for check-config."""
        out: list[Secret] = []
        for reg in self.registries:
            for ap in reg.auth_paths:
                if ap.password is not None:
                    out.append(
                        dataclasses.replace(
                            ap.password, key_path=f"registries[{reg.name}].{ap.password.key_path}"
                        )
                    )
        if self.serve.notifications.authorization is not None:
            out.append(self.serve.notifications.authorization)
        return out


# --- generic loader -----------------------------------------------------------------------------------

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, path)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise _Invalid(path, f"must be one of {', '.join(map(str, choices))} (got {value!r})")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise _Invalid(path, f"must be a list (got {type(value).__name__})")
        (item,) = typing.get_args(tp)
        return [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _Invalid(path, f"must be a mapping (got {type(value).__name__})")
        _, vt = typing.get_args(tp)
        return {str(k): _convert(vt, v, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path)  # type: ignore[arg-type]
    if tp is bool:
        if not isinstance(value, bool):
            raise _Invalid(path, f"must be true or false (got {value!r})")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid(path, f"must be a number (got {value!r})")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(path, f"must be an integer (got {value!r})")
        return value
    if tp is str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _Invalid(path, f"must be a string (got {type(value).__name__})")
        return str(value)
    raise TypeError(f"unsupported config type {tp!r}")  # a programming error, not a config error


def _build(cls: type, data: Any, path: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _Invalid(path, f"must be a mapping (got {type(data).__name__})")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    for key in data:
        if key not in fields:
            near = ", ".join(sorted(fields))
            raise _Invalid(f"{path}.{key}" if path else str(key), f"unknown key (expected one of: {near})")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        sub = f"{path}.{name}" if path else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _Invalid(sub, "required key is missing")
            continue
        value = _convert(hints[name], data[name], sub)
        chk = f.metadata.get("check")
        if chk is not None and value is not None:
            problem = chk(value)
            if problem:
                raise _Invalid(sub, problem)
        kwargs[name] = value
    return cls(**kwargs)


# --- cross-field rules ------------------------------------------------------------------------------


def _dupes(names: list[str]) -> str | None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            return n
        seen.add(n)
    return None


def _validate(cfg: Config) -> None:
    d = _dupes([r.name for r in cfg.registries])
    if d:
        raise _Invalid(f"registries[{[r.name for r in cfg.registries].index(d, 1)}].name",
                       f"duplicate registry name {d!r}")  # fmt: skip
    for i, reg in enumerate(cfg.registries):
        base = f"registries[{i}]"
        if not reg.regions:
            raise _Invalid(f"{base}.regions", "at least one region is required")
        for what, names in (
            ("regions", [r.name for r in reg.regions]),
            ("auth_paths", [a.name for a in reg.auth_paths]),
            ("canaries", [c.label for c in reg.canaries]),
        ):
            d = _dupes(names)
            if d:
                j = len(names) - 1 - names[::-1].index(d)
                key = "name" if what != "canaries" else "reference"
                raise _Invalid(f"{base}.{what}[{j}].{key}", f"duplicate {what[:-1].replace('_', ' ')} {d!r}")
        for j, region in enumerate(reg.regions):
            if region.tls.ca_file is not None and not region.url.startswith("https://"):
                raise _Invalid(f"{base}.regions[{j}].tls.ca_file", "set, but the url is not https")
        for j, ap in enumerate(reg.auth_paths):
            p = f"{base}.auth_paths[{j}]"
            if ap.password_env is not None and ap.password_file is not None:
                raise _Invalid(p, "give password_env or password_file, not both")
            if (ap.password_env or ap.password_file) and ap.username is None:
                raise _Invalid(f"{p}.username", "required when a password is given")
            if ap.username is not None and not (ap.password_env or ap.password_file):
                raise _Invalid(p, "username given without password_env or password_file")
    d = _dupes([s.name for s in cfg.slos])
    if d:
        raise _Invalid(f"slos[{[s.name for s in cfg.slos].index(d, 1)}].name", f"duplicate SLO name {d!r}")
    reg_names = {r.name for r in cfg.registries}
    for i, slo in enumerate(cfg.slos):
        p = f"slos[{i}]"
        if slo.source not in SLI_KINDS[slo.sli]:
            raise _Invalid(f"{p}.source", f"sli {slo.sli} cannot be computed from {slo.source}")
        if slo.sli == "pull_latency":
            if slo.threshold_seconds is None:
                raise _Invalid(f"{p}.threshold_seconds", "required for a pull_latency SLO")
            if slo.threshold_seconds not in PULL_DURATION_BUCKETS:
                bounds = ", ".join(f"{b:g}" for b in PULL_DURATION_BUCKETS)
                raise _Invalid(f"{p}.threshold_seconds",
                               f"{slo.threshold_seconds:g} is not a histogram bucket boundary ({bounds})")  # fmt: skip
        elif slo.threshold_seconds is not None:
            raise _Invalid(f"{p}.threshold_seconds", f"only for pull_latency SLOs, not {slo.sli}")
        if slo.filters.registry is not None and reg_names and slo.filters.registry not in reg_names:
            raise _Invalid(f"{p}.filters.registry", f"no registry named {slo.filters.registry!r}")
        if slo.filters.repository is not None:
            try:
                fnmatch.translate(slo.filters.repository)
            except Exception:  # noqa: BLE001 - any failure means a bad pattern
                raise _Invalid(f"{p}.filters.repository", "not a glob pattern") from None
    for i, src in enumerate(cfg.logs):
        if src.format not in ("auto", "nginx") and src.log_format is not None:
            raise _Invalid(f"logs[{i}].log_format", "only for nginx logs")
    n = cfg.serve.notifications
    if n.authorization_env is not None and n.authorization_file is not None:
        raise _Invalid("serve.notifications", "give authorization_env or authorization_file, not both")
    for i, rep in enumerate(cfg.replication):
        p = f"replication[{i}]"
        if rep.registry not in reg_names:
            raise _Invalid(f"{p}.registry", f"no registry named {rep.registry!r}")
        reg = cfg.registry(rep.registry)
        regions = {r.name for r in reg.regions}
        if rep.from_region not in regions:
            raise _Invalid(f"{p}.from_region", f"registry {reg.name} has no region {rep.from_region!r}")
        for j, to in enumerate(rep.to_regions or []):
            if to not in regions:
                raise _Invalid(f"{p}.to_regions[{j}]", f"registry {reg.name} has no region {to!r}")
        if rep.auth_path not in {a.name for a in reg.auth_paths}:
            raise _Invalid(f"{p}.auth_path", f"registry {reg.name} has no auth path {rep.auth_path!r}")
    for i, pt in enumerate(cfg.protected_tags):
        p = f"protected_tags[{i}]"
        if pt.registry not in reg_names:
            raise _Invalid(f"{p}.registry", f"no registry named {pt.registry!r}")
        reg = cfg.registry(pt.registry)
        if not pt.tags:
            raise _Invalid(f"{p}.tags", "at least one tag is required")
        for j, tag in enumerate(pt.tags):
            if not REFERENCE.match(tag) or ":" in tag:
                raise _Invalid(f"{p}.tags[{j}]", "not a tag")
        if pt.auth_path is not None and pt.auth_path not in {a.name for a in reg.auth_paths}:
            raise _Invalid(f"{p}.auth_path", f"registry {reg.name} has no auth path {pt.auth_path!r}")
        for j, rn in enumerate(pt.regions or []):
            if rn not in {r.name for r in reg.regions}:
                raise _Invalid(f"{p}.regions[{j}]", f"registry {reg.name} has no region {rn!r}")


# --- YAML -------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_config(text: str, source: str = "<string>") -> Config:
    """Parse and validate YAML text; raise ConfigError naming ``source`` and the key path."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping (got {type(data).__name__})")
    try:
        cfg = _build(Config, data, "")
        _validate(cfg)
    except _Invalid as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return dataclasses.replace(cfg, source=source)


def load_config(path: str | os.PathLike[str] | None, *, required: bool = False) -> Config:
    """Load the config file at ``path``; a missing default file gives the defaults unless ``required``."""
    p = Path(path) if path is not None else Path(DEFAULT_CONFIG_PATH)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required or path is not None:
            raise ConfigError(f"{p}: config file not found") from None
        return Config()
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    return parse_config(text, str(p))


def check_secrets(cfg: Config) -> list[str]:
    """Try to read every referenced secret; return one problem line per unreadable one."""
    problems = []
    for secret in cfg.secrets():
        try:
            secret.reveal()
        except ConfigError as exc:
            problems.append(f"{cfg.source}: {exc}")
    return problems
