"""The adapter profile: how asmkit starts or reaches the adapter under test, how the data plane
calls it, its sync intervals, and the features it claims. YAML, validated with ``file:line``
errors like scenarios.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from common.adapter_settings import SETTING_NAMES, AdapterSettings
from common.durations import Duration
from scenarios.analytics_fields import CONVENTIONS
from scenarios.features import Feature
from scenarios.loader import read_model

BUNDLED_PROFILE = (
    Path(__file__).parent.parent / "conformance" / "profiles" / "reference-adapter.yaml"
)
"""The profile of the bundled reference adapter (the default target)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Implementation(_Strict):
    """Who made the adapter; copied into the report."""

    organization: str
    project: str
    version: str
    url: str = ""
    contact: list[str] = Field(default_factory=list)


class AdapterLaunch(_Strict):
    """Exactly one way to get a fresh adapter for each scenario.

    ``in_process``: ``module:callable`` taking the settings mapping and returning an object with
    ``async start()``, ``async stop()``, ``grpc_port`` and ``http_port``.
    ``command``: argv with ``{placeholders}``; the kit starts it, waits for its port, and stops it
    with SIGTERM. ``settings`` and ``env`` values take the same placeholders.
    """

    in_process: str | None = None
    command: list[str] | None = Field(None, min_length=1, max_length=1000)
    env: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    metrics_url: str | None = Field(
        None,
        pattern=r"^http://(127\.0\.0\.1|localhost|\[::1\]|\{[a-z_]+\})(:[^/]+)?/",
        description="Where the adapter serves Prometheus metrics (loopback), e.g. "
        "http://127.0.0.1:{metrics_port}/metrics; needed to claim analytics-loss-reporting",
    )
    ready_timeout: Duration = Field(20.0, le=3600)
    stop_timeout: Duration = Field(10.0, le=3600)

    @model_validator(mode="after")
    def _one_way(self) -> AdapterLaunch:
        if (self.in_process is None) == (self.command is None):
            raise ValueError("give exactly one of in_process (module:callable) or command (argv)")
        if self.command is not None and not self.command[0].strip():
            raise ValueError("command[0] must name the program to run")
        return self


class ExtAuthz(_Strict):
    """How Envoy calls the adapter (the filter settings that the adapter's deployment uses).

    The header lists are exact, case-insensitive names. In HTTP mode Envoy sends only
    ``host``, ``content-length`` and ``authorization`` unless ``allowed_headers`` adds more, and
    copies nothing from a 200 unless ``allowed_upstream_headers`` names it.
    """

    transport: Literal["grpc", "http"] = "grpc"
    timeout: Duration = Field(0.2, le=3600)
    path_prefix: str = ""
    allowed_headers: list[str] | None = None
    allowed_upstream_headers: list[str] = Field(default_factory=list)
    allowed_upstream_headers_to_append: list[str] = Field(default_factory=list)
    allowed_client_headers_on_success: list[str] = Field(default_factory=list)
    failure_mode_allow: bool = False
    status_on_error: int = Field(403, ge=100, le=599)
    use_remote_address: bool = Field(
        False,
        description="Envoy's connection manager sets use_remote_address, so every request "
        "carries the client's address in x-envoy-external-address and at the end of "
        "x-forwarded-for: how an HTTP-mode adapter learns it (list the header in "
        "allowed_headers). Without it, HTTP-mode cases on the client address are not_supported",
    )
    late_grace: Duration = Field(
        5.0,
        le=60,
        description="An answer later than timeout but within timeout + late_grace is applied "
        "and reported as late, so verdicts do not depend on how loaded the machine is; 0 "
        "applies the timeout strictly, as Envoy does (scenarios that set a timeout always do)",
    )


class ControlPlaneAccess(_Strict):
    """How the adapter reaches the control plane (docs/proxy.md).

    ``direct``: the adapter is given the fake's URLs. ``proxy``: the adapter is hard-wired to
    the real platform hosts and mitmproxy redirects it to the fake, through ``HTTPS_PROXY``
    (``redirect: env``) or a network namespace that needs no cooperation (``redirect: netns``).
    With ``isolate`` (the default) the adapter runs in a namespace with only loopback, so a
    redirect that fails, fails closed. ``record`` writes one cassette per scenario to that
    folder; ``replay`` has the fake answer from ``<folder>/<scenario>.cassette.json``.
    """

    via: Literal["direct", "proxy"] = "direct"
    redirect: Literal["env", "netns"] = "env"
    isolate: bool = True
    platform_host: str = Field("anypoint.mulesoft.com", pattern=r"^[A-Za-z0-9.-]+$")
    ingest_host: str = Field("analytics-ingest.anypoint.mulesoft.com", pattern=r"^[A-Za-z0-9.-]+$")
    record: Path | None = None
    replay: Path | None = None
    replay_scope: Literal["unknown", "reads"] = Field(
        "reads",
        description="reads: every recorded GET comes from the cassette; unknown: only "
        "endpoints the fake does not implement",
    )

    @model_validator(mode="after")
    def _coherent(self) -> ControlPlaneAccess:
        if self.record is not None and self.via != "proxy":
            raise ValueError("record needs via: proxy (the proxy is the recorder)")
        if self.platform_host.lower() == self.ingest_host.lower():
            raise ValueError("platform_host and ingest_host must differ")
        return self

    @property
    def hosts(self) -> dict[str, str]:
        return {self.platform_host.lower(): "platform", self.ingest_host.lower(): "ingest"}


class Features(_Strict):
    """The features the adapter claims, and those exempt from the run."""

    supported: list[Feature] = Field(default_factory=list)
    exempt: list[Feature] = Field(default_factory=list)


class AdapterProfile(_Strict):
    """Everything the kit needs to test one adapter."""

    implementation: Implementation
    adapter: AdapterLaunch
    ext_authz: ExtAuthz = ExtAuthz()
    sync: AdapterSettings = Field(
        AdapterSettings(),
        description="The adapter's settings during conformance runs: passed to it through the "
        "{placeholders} the adapter section uses, and assumed as they are otherwise",
    )
    waive: dict[str, str] = Field(
        default_factory=dict,
        description="Kit conventions this adapter does not follow, each with the reason "
        "(see docs/adapter-contract.md); reports show every waiver",
    )
    can_pass: list[str] | None = Field(
        None,
        description="Settings the kit can pass to this adapter (names of sync: keys); default: "
        "those whose {placeholder} appears in the adapter section",
    )
    features: Features = Features()
    control_plane: ControlPlaneAccess = ControlPlaneAccess()
    skip: list[str] = Field(default_factory=list, description="Scenario names never run")
    timeout_scale: float = Field(
        1.0,
        gt=0,
        le=100,
        description="Multiplies every eventually/analytics deadline (slow adapters)",
    )

    @model_validator(mode="after")
    def _metrics_for_loss_reporting(self) -> AdapterProfile:
        claimed = Feature.ANALYTICS_LOSS_REPORTING in self.features.supported
        if claimed and self.adapter.metrics_url is None:
            raise ValueError(
                "features claim analytics-loss-reporting: name the adapter's Prometheus"
                " endpoint in adapter.metrics_url (e.g. http://127.0.0.1:{metrics_port}/metrics)"
            )
        return self

    @field_validator("waive")
    @classmethod
    def _known_conventions(cls, waive: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(waive) - set(CONVENTIONS))
        if unknown:
            raise ValueError(f"unknown conventions {unknown}; known: {', '.join(CONVENTIONS)}")
        empty = sorted(name for name, reason in waive.items() if not reason.strip())
        if empty:
            raise ValueError(f"give a reason for waiving {', '.join(empty)}")
        return waive

    @model_validator(mode="after")
    def _proxied_runs_apart(self) -> AdapterProfile:
        if self.control_plane.via == "proxy" and self.adapter.command is None:
            raise ValueError(
                "control_plane.via: proxy redirects a separate process: start the adapter "
                "with adapter.command (see conformance/profiles/reference-adapter-proxied.yaml)"
            )
        return self

    @field_validator("can_pass")
    @classmethod
    def _known_settings(cls, names: list[str] | None) -> list[str] | None:
        unknown = sorted(set(names or []) - set(SETTING_NAMES))
        if unknown:
            raise ValueError(f"unknown settings {unknown}; known: {', '.join(SETTING_NAMES)}")
        return names

    def passable(self) -> set[str]:
        """The settings the kit can hand this adapter (explicit, or from its placeholders)."""
        if self.can_pass is not None:
            return set(self.can_pass)
        launch = self.adapter
        used = set(_PLACEHOLDER.findall(repr([launch.command, launch.env, launch.settings])))
        return used & set(SETTING_NAMES)

    def unmet_needs(self, needs: dict[str, object]) -> list[str]:
        """Why the adapter cannot be run as a scenario needs: one reason per setting that
        differs from the profile's own value and that the kit cannot pass."""
        passable = self.passable()
        reasons = []
        for name, value in sorted(needs.items()):
            current = getattr(self.sync, name)
            if value != current and name not in passable:
                reasons.append(
                    f"needs {name}: {_show(value)} (the adapter runs {_show(current)} and its"
                    f" profile cannot pass {name}: add a {{{name}}} placeholder or list it in"
                    " can_pass)"
                )
        return reasons


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _show(value: object) -> str:
    return f"{value:g}s" if isinstance(value, float) else str(value)


def load_profile(path: Path) -> AdapterProfile:
    """Read and validate an adapter profile; raises ``ScenarioError`` (with ``file:line``)."""
    path = Path(path)
    _, profile = read_model(
        path,
        AdapterProfile,
        what="adapter profile",
        hint=f"pass an existing file, e.g. --adapter {BUNDLED_PROFILE}",
    )
    return profile
