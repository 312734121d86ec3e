"""The scenario format, version 1, as typed models.

Every field a user can write is declared here with its default and its meaning;
unknown keys are errors. Checks that need more than one field (names that refer to
other sections, combinations that AWS itself rejects) live in ``checks.py`` so that
they can name the exact field and line.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .. import modes
from ..units import MAX_SEED, parse_bandwidth, parse_duration, parse_rate
from . import expect as _expect
from . import trunkfile

Duration = Annotated[float, BeforeValidator(parse_duration)]
Rate = Annotated[float, BeforeValidator(parse_rate)]
Bandwidth = Annotated[float, BeforeValidator(parse_bandwidth)]
Port = Annotated[int, Field(ge=1, le=65535)]

#: A name in a scenario (instance group, subnet, gateway, security group, load balancer,
#: flow): as ECS allows for a service or container name (checks.py holds services and
#: containers to ECS's own rule and words), up to 255 letters, digits, '_' or '-', and
#: '.', starting with a letter or digit. Names are
#: written into CSV cells, figure labels and HTML; a cell starting with '=', '+', '-' or
#: '@' is a formula to a spreadsheet.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Name = Annotated[str, Field(min_length=1, max_length=255, pattern=NAME_PATTERN)]
#: A variant's own name (``compare: {variants: [{name: ...}]}``): a name, where spaces,
#: '=', ':', ',' and '+' may also be used to say what the variant is ("bridge hop 1").
VariantName = Annotated[str, Field(min_length=1, max_length=255,
                                   pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._=:,+-]*$")]
#: An Availability Zone name: us-east-1a, us-west-2-lax-1a.
AZ_PATTERN = r"^[a-z][a-z0-9-]*$"

#: The registered network modes (``ecsnetsim.modes``): the schema lists what the registry has.
NETWORK_MODES: tuple[str, ...] = modes.names()
NetworkMode = Literal[NETWORK_MODES]  # type: ignore[valid-type]

#: ECS agent defaults (amazon-ecs-agent ``config_unix.go`` / ``config_windows.go``).
LINUX_RESERVED_PORTS = [22, 2375, 2376, 51678, 51679]
WINDOWS_RESERVED_PORTS = [53, 135, 139, 445, 2375, 2376, 3389, 5985, 5986, 51678, 51679]
#: Linux ``ip_local_port_range`` default, mirrored by the agent (``ephemeral_ports.go``).
LINUX_DYNAMIC_PORT_RANGE = "32768-60999"
#: Agent default on Windows (``ephemeral_ports_windows.go``).
WINDOWS_DYNAMIC_PORT_RANGE = "49152-65535"
#: Share of a type's memory the OS keeps, so that the ECS guide's m4.large example
#: registers what it says: 8192 MiB -> 7985 on Linux, 8191 on Windows.
LINUX_MEMORY_OVERHEAD_PERCENT = 2.52
WINDOWS_MEMORY_OVERHEAD_PERCENT = 0.01


def _numeric(annotation: Any) -> bool:
    """Whether a field's type is or contains a plain number (``int``, ``list[Port]``, ...).

    Types with their own parser (durations, rates) say themselves what they expect.
    """
    if annotation in (int, float):
        return True
    if any(isinstance(m, BeforeValidator) for m in getattr(annotation, "__metadata__", ())):
        return False
    if get_origin(annotation) is Literal:
        return any(isinstance(a, int) and not isinstance(a, bool) for a in get_args(annotation))
    return any(_numeric(a) for a in get_args(annotation))


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # YAML reads yes/no/on/off/true/false as booleans, which would pass as 1 and 0.
        items = value if isinstance(value, list) else [value]
        flag = next((v for v in items if isinstance(v, bool)), None)
        f = cls.model_fields[info.field_name]
        if flag is not None and _numeric(f.annotation) and not any(
                isinstance(m, BeforeValidator) for m in f.metadata):
            raise ValueError(f"expected a number, not {str(flag).lower()}")
        return value


class Account(Model):
    """ECS account settings."""

    awsvpc_trunking: bool = Field(False, description="The awsvpcTrunking account setting.")


class Subnet(Model):
    name: Name
    cidr: str = Field(description="IPv4 CIDR between /16 and /28, e.g. 10.0.1.0/24.")
    az: str = Field("us-east-1a", max_length=64, pattern=AZ_PATTERN,
                    description="Availability Zone of the subnet.")
    reserved_ips: int = Field(
        0, ge=0,
        description="IPs already taken by other ENIs in the subnet (load balancers, endpoints).",
    )
    route: str = Field(
        "local", pattern=r"^(local|igw|nat:.+)$",
        description="The subnet's route to the internet: local (none), igw (an internet "
                    "gateway: a public subnet) or nat:<gateway> (a NAT gateway).")

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        try:
            net = ipaddress.IPv4Network(v, strict=True)
        except ValueError as exc:
            raise ValueError(f"expected an IPv4 CIDR such as 10.0.1.0/24 ({exc})") from None
        if not 16 <= net.prefixlen <= 28:
            raise ValueError(
                f"a VPC subnet must be between /16 and /28 (got /{net.prefixlen})"
            )
        return str(net)


class NatGateway(Model):
    name: Name
    subnet: str = Field(description="The public subnet it sits in (routes to the igw).")


PortSpec = Annotated[str, BeforeValidator(lambda v: str(v))]


class SecurityGroupRule(Model):
    """One rule: a port (N, N-M or all), a protocol, and where from (ingress) or to
    (egress): sg:<group>, a CIDR, or any."""

    port: PortSpec = Field(pattern=r"^(all|[0-9]+(-[0-9]+)?)$",
                           description="N, N-M or all.")
    protocol: Literal["tcp", "udp", "all"] = "tcp"
    from_: str | None = Field(None, alias="from", description="sg:NAME, a CIDR or any.")
    to: str | None = Field(None, description="egress: sg:NAME, a CIDR or any.")

    @property
    def ports(self) -> tuple[int, int]:
        if self.port == "all":
            return 0, 65535
        lo, _, hi = self.port.partition("-")
        return int(lo), int(hi or lo)


class SecurityGroup(Model):
    """A stateful security group: no ingress rule = deny; egress open unless given."""

    name: Name
    ingress: list[SecurityGroupRule] = Field(default_factory=list)
    egress: list[SecurityGroupRule] | None = Field(
        None, description="Outbound rules; null: all outbound allowed (AWS's default rule).")


class Vpc(Model):
    subnets: list[Subnet] = Field(min_length=1)
    nat_gateways: list[NatGateway] = Field(default_factory=list)
    security_groups: list[SecurityGroup] | None = Field(
        None, description="Security groups; null: security groups are not modelled (every "
                          "packet passes them).")


class Metadata(Model):
    """Instance metadata service options. Defaults as EC2 launches an instance (the EC2 and
    Auto Scaling API references: HttpTokens optional, HttpPutResponseHopLimit 1), or, from
    an AMI flagged ``imds_support: v2.0`` (as current Amazon Linux 2023 AMIs are), required
    and 2 (EC2 API reference, Image.ImdsSupport)."""

    imds_support: Literal["v2.0"] | None = Field(
        None, description="The AMI's ImdsSupport flag; v2.0 changes the defaults below to "
                          "required and 2.")
    http_tokens: Literal["optional", "required"] | None = Field(
        None, description="required: IMDSv2 only (a session token first). Default optional "
                          "(required with imds_support v2.0).")
    hop_limit: int | None = Field(
        None, ge=1, le=64, description="HttpPutResponseHopLimit: the token response's TTL. "
                                       "Default 1 (2 with imds_support v2.0).")

    @model_validator(mode="after")
    def _defaults(self) -> Metadata:
        v2 = self.imds_support == "v2.0"
        if self.http_tokens is None:
            self.http_tokens = "required" if v2 else "optional"
        if self.hop_limit is None:
            self.hop_limit = 2 if v2 else 1
        return self


class Agent(Model):
    """ECS container agent settings; the defaults are the agent's own."""

    reserved_ports: list[Port] | None = Field(
        None, description="ECS_RESERVED_PORTS; default [22, 2375, 2376, 51678, 51679] on Linux.")
    reserved_ports_udp: list[Port] = Field(
        default_factory=list, description="ECS_RESERVED_PORTS_UDP; default none.")
    dynamic_port_range: str | None = Field(
        None, description="ECS_DYNAMIC_HOST_PORT_RANGE 'start-end'; default 32768-60999 on Linux "
                          "(the kernel's ip_local_port_range).")
    reserved_memory: int = Field(0, ge=0, description="ECS_RESERVED_MEMORY in MiB; default 0.")
    eni_attach_delay: Duration = Field(
        5.0, description="Time for ECS to create and attach a task ENI (assumption: AWS says "
                         "'several seconds').")
    branch_attach_delay: Duration = Field(
        7.0, description="Time to attach a trunk branch ENI (assumption: AWS says trunking "
                         "makes startup slower, without a figure).")
    container_start_delay: Duration = Field(
        1.0, description="Time from PENDING to RUNNING once networking is ready (assumption).")

    @field_validator("dynamic_port_range", mode="before")
    @classmethod
    def _range(cls, v: Any) -> str | None:
        if v is None:
            return v
        try:
            lo, hi = (int(x) for x in str(v).split("-"))
        except ValueError:
            raise ValueError("expected 'start-end', e.g. 32768-60999") from None
        if not 1 <= lo <= hi <= 65535:
            raise ValueError("expected 1 <= start <= end <= 65535")
        return f"{lo}-{hi}"


class EnaAllowances(Model):
    """An instance's ENA allowances (ecsnetsim.net.ena): packets beyond them are dropped
    and counted as pps_allowance_exceeded, bw_in_allowance_exceeded or
    bw_out_allowance_exceeded, never queued. Each null is the documented default."""

    pps: Rate | None = Field(
        None, gt=0, description="Packets per second in and out together; AWS publishes none: null "
                          "assumes 100,000 per Gbps of the type's peak bandwidth.")
    bandwidth: Bandwidth | None = Field(
        None, description="Sustained bandwidth per direction (the credits' refill); null: the "
                          "type's baseline bandwidth.")
    burst: Duration | None = Field(
        None, ge=0, description="How long full credits last at the type's peak bandwidth "
                                "(network I/O credits); null: 300 s, the shortest of AWS's "
                                "'typically from 5 to 60 minutes'.")
    window: Duration | None = Field(
        None, gt=0, le=60, description="Seconds of each allowance's rate that a burst may "
                                       "take before packets are dropped; null: 10 ms "
                                       "(AWS does not publish it).")


class OwnConnections(Model):
    """An instance's own outbound connections (ecsnetsim.net.owntraffic): the ECS agent's,
    Docker's, the SSM and CloudWatch agents', from the host namespace."""

    rate: Rate = Field(gt=0, description="New connections per second on each instance "
                                         "(Poisson arrivals).")
    hold: Duration = Field(gt=0, description="How long each stays open (its exchanges, "
                                             "keep-alive, TIME_WAIT).")
    destinations: int = Field(1, ge=1, le=10000,
                              description="Endpoints they go to, chosen at random (each "
                                          "connection's port is unique per endpoint).")


class InstanceGroup(Model):
    name: Name
    type: str = Field(description="An EC2 instance type from the catalog, e.g. c5.large.")
    count: int = Field(1, ge=0, le=10000)
    os: Literal["linux", "windows"] = "linux"
    subnet: str | None = Field(None, description="Subnet name; default the first subnet.")
    agent: Agent = Field(default_factory=Agent)
    attributes: dict[str, str] = Field(default_factory=dict, description="Custom attributes.")
    trunk_tasks: int | None = Field(
        None, ge=0, le=1000,
        description="Override the ECS trunking table: awsvpc tasks per instance with trunking "
                    "(0: the instances do not trunk).")
    awsvpc_trunking: bool | None = Field(
        None, description="The awsvpcTrunking setting as these instances saw it when they "
                          "registered; null: the account's. false models instances registered "
                          "before the account opted in (ECS never gives them a trunk).")
    memory_overhead_percent: float | None = Field(
        None, ge=0, le=50,
        description="Share of the type's memory that the OS keeps (MemTotal below nominal); "
                    "default 2.52 on Linux, 0.01 on Windows, derived from the ECS guide's "
                    "m4.large example: 8192 MiB registers 7985 (Linux) and 8191 (Windows).")
    scaling: Scaling | None = None
    external: bool = Field(
        False, description="ECS Anywhere: servers outside AWS registered to the cluster (an "
                           "SSM activation), running tasks with launch_type EXTERNAL only. "
                           "They have no ENIs (type gives only their CPU and memory) and no "
                           "VPC address.")
    security_groups: list[str] = Field(
        default_factory=list, description="Groups of the instances' primary ENI (and so of "
                                          "every bridge, host and default task on them).")
    public_ip: bool = Field(False, description="Whether the instances get a public IPv4 "
                                               "address (useful in a subnet that routes igw).")
    metadata: Metadata = Field(default_factory=Metadata)
    ephemeral_port_range: str | None = Field(
        None, description="The kernel's ip_local_port_range 'start-end' that outbound connections "
                          "of the host namespace take their source ports from; default "
                          "32768-60999 on Linux (the kernel's), 49152-65535 on Windows.")
    dynamic_host_port_range: str | None = Field(
        None, description="ECS_DYNAMIC_HOST_PORT_RANGE 'start-end' (as agent.dynamic_port_range); "
                          "null: the agent's default, the kernel's ip_local_port_range "
                          "(ephemeral_port_range).")
    agent_assigns_host_ports: bool = Field(
        True, description="ECS agent 1.70 and later assigns dynamic host ports itself, testing "
                          "each by binding a listener, so it skips ports outbound connections "
                          "hold (only a port taken between its pick and the container's start "
                          "collides); false: Docker assigns them (agents before 1.70), blind "
                          "to the kernel's ephemeral ports.")
    conntrack_max: int | None = Field(
        None, ge=1, le=2**31 - 1,
        description="net.netfilter.nf_conntrack_max; null: the kernel's default for the "
                    "instance's memory (262144 above 4 GiB, 65536 above 1 GiB).")
    conntrack_allowance: int | None = Field(
        None, ge=1, le=2**31 - 1,
        description="Connections the instance's ENIs track at once (AWS's conntrack "
                    "allowance, conntrack_allowance_exceeded beyond it); AWS does not publish "
                    "it: null assumes 200,000.")
    ena_allowances: EnaAllowances | None = Field(
        None, description="The instances' PPS and bandwidth allowances {pps, bandwidth, burst, "
                          "window}; null: the type's (ecsnetsim.net.ena).")
    own_connections: OwnConnections | None = Field(
        None, description="The instances' own outbound connections {rate, hold, destinations} "
                          "(the ECS agent, Docker, the SSM and CloudWatch agents): each holds an "
                          "ephemeral port and a conntrack entry of the host namespace; null: "
                          "none.")

    @field_validator("ephemeral_port_range", "dynamic_host_port_range", mode="before")
    @classmethod
    def _port_range(cls, v: Any) -> str | None:
        return Agent._range(v)

    @model_validator(mode="after")
    def _one_dynamic_range(self) -> InstanceGroup:
        mine, agent = self.dynamic_host_port_range, self.agent.dynamic_port_range
        if mine is not None and agent is not None and mine != agent:
            raise ValueError(f"dynamic_host_port_range {mine} and agent.dynamic_port_range "
                             f"{agent} both set ECS_DYNAMIC_HOST_PORT_RANGE: set one")
        return self


class Scaling(Model):
    """Managed scale-out: launch instances of the group for tasks that cannot be placed."""

    max: int = Field(ge=0, le=10000, description="Most instances the group may have.")
    launch_delay: Duration = Field(
        90.0, description="From the launch decision to the instance registering (assumption: "
                          "EC2 boot plus agent start; AWS gives no figure).")


#: The Fargate capacity providers every account has (they need only be associated with
#: the cluster): ECS API reference, CapacityProviderStrategyItem.
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


class ManagedScaling(Model):
    """An Auto Scaling group provider's managed scaling (ECS API reference, ManagedScaling;
    defaults are ECS's): ECS keeps CapacityProviderReservation, M/N x 100 (M instances
    needed, N in the group), at ``target_capacity``."""

    status: Literal["ENABLED", "DISABLED"] = "ENABLED"
    target_capacity: int = Field(100, ge=1, le=100,
                                 description="Target CapacityProviderReservation, 1-100 (%).")
    minimum_scaling_step_size: int = Field(
        1, ge=1, le=10000, description="Fewest instances a scale-out launches.")
    maximum_scaling_step_size: int = Field(
        10000, ge=1, le=10000, description="Most instances a scale-out launches.")


class CapacityProvider(Model):
    """A capacity provider associated with the cluster: an Auto Scaling group provider
    (``instance_group``: the group it scales), or FARGATE / FARGATE_SPOT."""

    name: Name
    instance_group: str | list[str] | None = Field(
        None, description="The instance group of an ASG provider (the Auto Scaling group), or "
                          "its groups, one per subnet, when the Auto Scaling group spans "
                          "several; none for FARGATE and FARGATE_SPOT.")
    managed_scaling: ManagedScaling | None = Field(
        None, description="Managed scaling of an ASG provider; null: off (the group keeps "
                          "its size).")

    @model_validator(mode="before")
    @classmethod
    def _by_name(cls, value: Any) -> Any:
        """``- FARGATE`` is short for ``- {name: FARGATE}``."""
        return {"name": value} if isinstance(value, str) else value

    @property
    def groups(self) -> list[str]:
        """The instance groups of its Auto Scaling group (none for Fargate)."""
        group = self.instance_group
        return [] if group is None else [group] if isinstance(group, str) else list(group)


class CapacityProviderStrategyItem(Model):
    """One provider of a strategy (ECS API reference, CapacityProviderStrategyItem)."""

    capacity_provider: str = Field(min_length=1, max_length=255)
    base: int = Field(0, ge=0, le=100000,
                      description="Tasks that run on this provider first (one provider of a "
                                  "strategy may have a base).")
    weight: int = Field(0, ge=0, le=1000,
                        description="Share of the tasks beyond the bases (0: none).")


class TrunkingRow(Model):
    """A row of a user's ENI trunking table, as the CSV file gives it."""

    instance_type: str = Field(min_length=1)
    tasks_without_trunking: int = Field(ge=0)
    tasks_with_trunking: int = Field(ge=0)
    line: int | None = Field(None, description="Its line in the file.")


class TrunkingTable(Model):
    """A user's ENI trunking table: the file as the scenario names it, and its rows."""

    file: str = Field(min_length=1)
    rows: list[TrunkingRow] = Field(default_factory=list)

    def row(self, instance_type: str) -> TrunkingRow | None:
        return next((r for r in self.rows if r.instance_type == instance_type), None)


class Cluster(Model):
    instance_groups: list[InstanceGroup] = Field(default_factory=list)
    trunking_table: Annotated[TrunkingTable | None, BeforeValidator(trunkfile.read_table)] = \
        Field(None, description="A CSV file (path relative to the scenario) with the columns "
                                "of ECS's trunking table (instance_type, "
                                "tasks_without_trunking, tasks_with_trunking), merged over "
                                "the built-in table of 2023-04-18: its rows add types (m7i, "
                                "c7i, ...) or replace built-in rows.")
    capacity_providers: list[CapacityProvider] = Field(
        default_factory=list, max_length=20,
        description="Capacity providers associated with the cluster (ASG providers, "
                    "FARGATE, FARGATE_SPOT).")
    default_capacity_provider_strategy: list[CapacityProviderStrategyItem] = Field(
        default_factory=list, max_length=20,
        description="The strategy of a service that gives neither launch_type nor "
                    "capacity_provider_strategy.")


class PortMapping(Model):
    container_port: Port | None = Field(
        None, description="The container port; or give container_port_range instead.")
    container_port_range: str | None = Field(
        None, description="containerPortRange 'start-end' (bridge, default: one dynamic host "
                          "port per port, contiguous; awsvpc: the range on the task ENI).")
    host_port: int | None = Field(
        None, ge=0, le=65535, description="0 or absent: a dynamic host port (bridge, default).")
    protocol: Literal["tcp", "udp"] = "tcp"

    @field_validator("container_port_range", mode="before")
    @classmethod
    def _port_range(cls, v: Any) -> str | None:
        if v is None:
            return v
        try:
            lo, hi = (int(x) for x in str(v).split("-"))
        except ValueError:
            raise ValueError("expected 'start-end', e.g. 8000-8010") from None
        if not 1 <= lo < hi <= 65535:
            raise ValueError("expected 1 <= start < end <= 65535 (a range's start must be "
                             "below its end)")
        return f"{lo}-{hi}"

    @model_validator(mode="after")
    def _one_port(self) -> PortMapping:
        if (self.container_port is None) == (self.container_port_range is None):
            raise ValueError("give container_port or container_port_range (exactly one)")
        if self.container_port_range is not None and self.host_port:
            raise ValueError("a containerPortRange takes no hostPort: ECS assigns the host "
                             "ports (hostPortRange)")
        return self

    @property
    def ports(self) -> tuple[int, int]:
        """``(first container port, how many)``."""
        if self.container_port_range is None:
            return self.container_port, 1
        lo, hi = (int(x) for x in self.container_port_range.split("-"))
        return lo, hi - lo + 1


class Container(Model):
    name: str = Field(min_length=1)  # ECS's own rule: checks.py
    port_mappings: list[PortMapping] = Field(default_factory=list, max_length=100)
    links: list[str] = Field(
        default_factory=list, description="Docker links to other containers (bridge only).")


class RuntimePlatform(Model):
    """The task definition's runtimePlatform: what the task needs of its host."""

    operating_system_family: str = Field(
        "LINUX", pattern=r"^(LINUX|WINDOWS_SERVER_[0-9A-Z_]+)$",
        description="LINUX or WINDOWS_SERVER_<release>_<FULL|CORE>.")
    cpu_architecture: Literal["X86_64", "ARM64"] = "X86_64"

    @property
    def os(self) -> str:
        return "linux" if self.operating_system_family == "LINUX" else "windows"

    @property
    def arch(self) -> str:
        return self.cpu_architecture.lower()


class PlacementStrategy(Model):
    type: Literal["binpack", "spread", "random"]
    field: str | None = Field(
        None, description="binpack: cpu | memory; spread: instanceId, host or attribute:<name>.")


class PlacementConstraint(Model):
    type: Literal["distinctInstance", "memberOf"]
    expression: str | None = None


class CircuitBreaker(Model):
    enable: bool = False
    rollback: bool = False


class DeploymentConfiguration(Model):
    """ECS deploymentConfiguration; defaults are ECS's."""

    minimum_healthy_percent: int = Field(100, ge=0, le=100)
    maximum_percent: int = Field(200, ge=100, le=200)
    circuit_breaker: CircuitBreaker = Field(default_factory=CircuitBreaker)


class HealthCheck(Model):
    """Load-balancer target health check; defaults are the ALB's."""

    grace_period: Duration = Field(
        0.0, le=2147483647,
        description="healthCheckGracePeriodSeconds: how long after a task starts ECS ignores "
                    "an unhealthy target (ECS default 0).")
    interval: Duration = Field(30.0, ge=5, le=300,
                               description="HealthCheckIntervalSeconds, 5-300 (ALB default 30).")
    healthy_threshold: int = Field(5, ge=2, le=10, description="HealthyThresholdCount (5).")
    unhealthy_threshold: int = Field(2, ge=2, le=10,
                                     description="UnhealthyThresholdCount (ALB default 2).")


#: CodeDeploy's predefined deployment configurations for Amazon ECS (CodeDeploy User Guide,
#: "Deployment configurations on an Amazon ECS compute platform"; ECS Developer Guide,
#: "CodeDeploy blue/green deployments for Amazon ECS"): name -> (type, percent, minutes).
CODEDEPLOY_ECS_CONFIGS: dict[str, tuple[str, int | None, float | None]] = {
    "CodeDeployDefault.ECSAllAtOnce": ("all_at_once", None, None),
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": ("linear", 10, 1),
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": ("linear", 10, 3),
    "CodeDeployDefault.ECSCanary10Percent5Minutes": ("canary", 10, 5),
    "CodeDeployDefault.ECSCanary10Percent15Minutes": ("canary", 10, 15),
}


def _shift_by_name(value: Any) -> Any:
    """A traffic shift may be written as CodeDeploy's predefined configuration name, or
    as ``all_at_once``; both become the mapping form."""
    if not isinstance(value, str):
        return value
    if value == "all_at_once":
        return {"type": "all_at_once"}
    if value not in CODEDEPLOY_ECS_CONFIGS:
        names = ", ".join(CODEDEPLOY_ECS_CONFIGS)
        raise ValueError(f"expected all_at_once, a mapping {{type, percent, interval}} or one "
                         f"of CodeDeploy's predefined ECS configurations: {names} "
                         f"(got {value!r})")
    kind, percent, minutes = CODEDEPLOY_ECS_CONFIGS[value]
    out: dict[str, Any] = {"type": kind}
    if percent is not None:
        out.update(percent=percent, interval=minutes * 60)
    return out


class TrafficShift(Model):
    """How CodeDeploy moves production traffic to the replacement task set: all at once,
    canary (``percent``, then the rest after ``interval``) or linear (``percent`` more
    every ``interval``), as its TimeBasedCanary / TimeBasedLinear configurations."""

    type: Literal["all_at_once", "canary", "linear"] = "all_at_once"
    percent: int | None = Field(None, ge=1, le=99,
                                description="canary: the first increment; linear: each one.")
    interval: Duration | None = Field(
        None, gt=0, description="canary: before the rest moves; linear: between increments.")

    @model_validator(mode="after")
    def _parameters(self) -> TrafficShift:
        given = self.percent is not None, self.interval is not None
        if self.type == "all_at_once" and any(given):
            raise ValueError("all_at_once takes no percent or interval")
        if self.type != "all_at_once" and not all(given):
            raise ValueError(f"{self.type} needs percent and interval")
        return self


class BlueGreen(Model):
    """The CODE_DEPLOY (blue/green) controller's deployment group settings."""

    traffic_shift: Annotated[TrafficShift, BeforeValidator(_shift_by_name)] = Field(
        default_factory=TrafficShift,
        description="all_at_once, {type: canary|linear, percent, interval}, or a predefined "
                    "name such as CodeDeployDefault.ECSCanary10Percent5Minutes.")
    test_listener_port: Port | None = Field(
        None, description="A test listener on the balancer: it reaches the replacement task "
                          "set before production traffic shifts (optional).")
    termination_wait: Duration = Field(
        0.0, ge=0,
        description="Original revision termination: how long after all traffic shifted the "
                    "original task set is kept before it is deleted (CodeDeploy's "
                    "terminationWaitTimeInMinutes, at most 2880 min; default 0).")

    @field_validator("termination_wait")
    @classmethod
    def _at_most_two_days(cls, v: float) -> float:
        if v > 2880 * 60:
            raise ValueError(f"CodeDeploy waits at most 2880 minutes (2 days) before it "
                             f"deletes the original task set (got {v / 60:g} min)")
        return v


class ServiceTargetGroup(Model):
    """One entry of the service's loadBalancers: a target group on a balancer, the
    container and port registered in it, and the listener (port, path rule) in front."""

    load_balancer: str = Field(min_length=1, description="The balancer, by name.")
    target_group: Name | None = Field(
        None, description="The target group's name; default <service>-<container_port>.")
    container: str | None = Field(
        None, description="containerName; default the container that maps container_port.")
    container_port: Port = Field(description="containerPort registered in the group.")
    listener_port: Port | None = Field(
        None, description="The listener forwarding to the group; default the balancer's port.")
    path: str | None = Field(
        None, min_length=1, max_length=128,
        description="An ALB listener rule's path pattern (* and ? wildcards) forwarding to "
                    "the group; none: the listener's default action.")


class Service(Model):
    name: str = Field(min_length=1)  # ECS's own rule: checks.py
    desired_count: int = Field(1, ge=0, le=100000)
    network_mode: NetworkMode | None = Field(
        None, description="Default: ECS's for the task's OS (bridge on Linux, default on "
                          "Windows).")
    launch_type: Literal["EC2", "FARGATE", "EXTERNAL"] = Field(
        "EC2", description="EC2, FARGATE or EXTERNAL (ECS Anywhere); with a capacity "
                           "provider strategy, its providers' (FARGATE for FARGATE and "
                           "FARGATE_SPOT, else EC2).")
    capacity_provider_strategy: list[CapacityProviderStrategyItem] | None = Field(
        None, max_length=20,
        description="Capacity providers the tasks are split over (base first, then by "
                    "weight); instead of launch_type. null: launch_type, or the cluster's "
                    "default strategy when launch_type is not given either.")
    runtime_platform: RuntimePlatform | None = Field(
        None, description="runtimePlatform; null: any OS and CPU architecture on EC2.")
    requires_compatibilities: list[Literal["EC2", "FARGATE", "EXTERNAL"]] | None = Field(
        None, description="requiresCompatibilities of the task definition.")
    cpu: int = Field(256, ge=0, description="Task CPU units (1024 = one vCPU).")
    memory: int = Field(512, ge=0, description="Task memory in MiB.")
    gpu: int = Field(
        0, ge=0,
        description="GPUs the task reserves on its instance: the sum of its containers' "
                    "resourceRequirements of type GPU (0: none). ECS places it only where "
                    "that many of the instance's GPUs are free (RESOURCE:GPU).")
    subnets: list[str] | None = Field(
        None, description="awsvpc only; default the subnets of the cluster's instances.")
    containers: list[Container] = Field(default_factory=list)
    placement_strategy: list[PlacementStrategy] | None = Field(
        None, max_length=5,
        description="Default for services: spread over attribute:ecs.availability-zone.")
    placement_constraints: list[PlacementConstraint] = Field(default_factory=list, max_length=10)
    task_definition: str | None = Field(
        None, description="Path to an ECS task definition JSON (as the AWS CLI prints it).")
    scheduling: Literal["replica", "daemon"] = "replica"
    deployment: DeploymentConfiguration = Field(default_factory=DeploymentConfiguration)
    health_check: HealthCheck | None = Field(
        None, description="Load-balancer health check; applies when set or when a flow "
                          "reaches the service through an ALB or NLB.")
    deregistration_delay: Duration = Field(
        300.0, description="Target group deregistration delay (ELB default 300 s).")
    security_groups: list[str] | None = Field(
        None, max_length=5, description="awsvpc only: the task ENI's groups (up to 5).")
    load_balancer: str | None = Field(
        None, description="The load balancer (by name) whose target group the service's "
                          "tasks register in.")
    load_balancers: list[ServiceTargetGroup] | None = Field(
        None, min_length=1, max_length=5,
        description="Several target groups (ECS loadBalancers[], at most 5): each a "
                    "container/port on a balancer's listener; instead of load_balancer.")
    deployment_controller: Literal["ECS", "CODE_DEPLOY"] = Field(
        "ECS", description="ECS (rolling update) or CODE_DEPLOY (blue/green: a replacement "
                           "task set at full size, then traffic shifted to it).")
    blue_green: BlueGreen | None = Field(
        None, description="CODE_DEPLOY only: traffic shift, test listener, termination wait.")
    assign_public_ip: bool = Field(False, description="Fargate only: give each task ENI a "
                                                      "public IP.")
    service_discovery: ServiceDiscovery | None = None
    startup_time: Duration = Field(
        0.0, description="How long the application takes, once its containers run, before "
                         "it answers health checks (a property of the application, not an "
                         "ECS setting). Behind a load balancer, a task whose target turns "
                         "unhealthy after the grace period is stopped and replaced.")


    @model_validator(mode="after")
    def _controller(self) -> Service:
        """What ECS refuses about the deployment controller and target groups."""
        if self.load_balancer is not None and self.load_balancers is not None:
            raise ValueError("give load_balancer (one target group) or load_balancers "
                             "(several), not both")
        if self.blue_green is not None and self.deployment_controller != "CODE_DEPLOY":
            raise ValueError("blue_green applies to deployment_controller: CODE_DEPLOY")
        if self.deployment_controller == "CODE_DEPLOY":
            if self.blue_green is None:
                self.blue_green = BlueGreen()
            if self.load_balancers is not None and len(self.load_balancers) > 1:
                raise ValueError(
                    "several target groups are supported only with the ECS deployment "
                    "controller (ECS Developer Guide, Registering multiple target groups)")
            if self.load_balancer is None and self.load_balancers is None:
                raise ValueError("deployment_controller CODE_DEPLOY needs a load balancer: "
                                 "set load_balancer (CodeDeploy shifts its listener's "
                                 "traffic between two target groups)")
            if self.scheduling == "daemon":
                raise ValueError("the DAEMON scheduling strategy supports the ECS "
                                 "deployment controller only")
        return self

    @property
    def balancers(self) -> list[str]:
        """The load balancers the service's tasks register in, by name."""
        if self.load_balancers is not None:
            return list(dict.fromkeys(tg.load_balancer for tg in self.load_balancers))
        return [] if self.load_balancer is None else [self.load_balancer]

    #: The launch type as written (None: not written), before a capacity provider
    #: strategy set it from its providers (checks.py compares the two).
    _written_launch_type: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _launch_type_of_strategy(self) -> Service:
        """A capacity provider strategy decides the launch type: FARGATE for Fargate
        providers, EC2 for Auto Scaling group providers (a mix is refused in checks)."""
        written = self.launch_type if "launch_type" in self.model_fields_set else None
        self._written_launch_type = written
        kind = strategy_launch_type(self.capacity_provider_strategy)
        if kind is not None:
            self.launch_type = kind
        elif written is None and self.requires_compatibilities == ["EXTERNAL"]:
            self.launch_type = "EXTERNAL"  # the only one the task definition allows
        return self

    @model_validator(mode="after")
    def _default_mode(self) -> Service:
        """ECS's network mode when the task definition names none: its OS's default."""
        if self.network_mode is None:
            os = self.runtime_platform.os if self.runtime_platform else "linux"
            self.network_mode = modes.default_for(os)
        return self


def strategy_launch_type(strategy: list[CapacityProviderStrategyItem] | None) -> str | None:
    """The launch type a strategy's providers give: FARGATE (all Fargate providers), EC2
    (all Auto Scaling group providers), None (no strategy, or a mix).

    >>> strategy_launch_type([CapacityProviderStrategyItem(capacity_provider="FARGATE_SPOT")])
    'FARGATE'
    """
    if not strategy:
        return None
    fargate = {item.capacity_provider in FARGATE_PROVIDERS for item in strategy}
    if len(fargate) != 1:
        return None
    return "FARGATE" if fargate.pop() else "EC2"


class ServiceDiscovery(Model):
    """Cloud Map registration of the service's tasks."""

    namespace: str = Field(min_length=1, description="e.g. local: the service is <name>.local")
    record: Literal["A", "SRV"] = Field(
        "SRV", description="A (awsvpc only: the task's IP) or SRV (IP and port; the host "
                           "port in bridge mode).")


class LoadBalancer(Model):
    """An Application or Network Load Balancer and its target group."""

    name: Name
    type: Literal["alb", "nlb"] = "alb"
    port: Port = Field(80, description="The listener port clients connect to.")
    scheme: Literal["internal", "internet-facing"] = "internal"
    target_type: Literal["instance", "ip"] = Field(
        "instance", description="instance (bridge, host, default) or ip (awsvpc).")
    subnets: list[str] = Field(default_factory=list,
                               description="Its subnets; default the VPC's first.")
    security_groups: list[str] = Field(
        default_factory=list, description="Its groups (an ALB needs them; optional on an NLB).")
    preserve_client_ip: bool | None = Field(
        None, description="NLB client IP preservation; null: AWS's default (on for instance "
                          "targets, off for ip targets). An ALB never preserves it.")


class Connections(Model):
    """A connection-level flow: connections opened at ``rate``, each carrying ``requests``
    request packets ``interval`` apart and held open ``hold`` after the last one."""

    rate: Rate = Field(gt=0, description="New connections per second (the flow's arrival).")
    requests: int = Field(1, ge=1, le=1_000_000,
                          description="Request/response exchanges per connection (default 1): "
                                      "one packet of the flow each.")
    hold: Duration = Field(
        60.0, ge=0, description="How long a connection stays open after its last exchange "
                                "(keep-alive, TIME_WAIT); default 60 s, Linux's TIME_WAIT "
                                "(TCP_TIMEWAIT_LEN).")
    interval: Duration = Field(
        0.001, ge=0, description="Time between a connection's exchanges (default 1 ms, an "
                                 "assumption: the application's turn-around).")
    destinations: int = Field(
        1, ge=1, le=65536, description="Distinct destination addresses the connections spread "
                                       "over, at random (to: internet; a NAT gateway keeps "
                                       "55,000 connections per destination).")


class Flow(Model):
    name: Name
    from_: str = Field("client", alias="from", description="client or a service name.")
    to: str = Field(description="A service, its Cloud Map name (<service>.<namespace>), "
                                "internet or imds.")
    port: Port | None = Field(None, description="Container port; default the first mapped one.")
    via: str = Field("direct", description="direct, alb, nlb, or a load balancer's name.")
    rate: Rate = 1000.0
    size: int = Field(1200, ge=1, le=65535, description="Bytes per packet.")
    arrival: Literal["poisson", "constant"] = "poisson"
    connections: Connections | None = Field(
        None, description="Connection-level flow; default packets only.")
    start: Duration | None = None
    stop: Duration | None = None
    path: str | None = Field(
        None, min_length=1, max_length=1024, pattern=r"^/",
        description="Through an ALB: the request path, which picks the target group whose "
                    "listener rule matches it (services with several target groups).")
    listener_port: Port | None = Field(
        None, description="Through a named balancer: the listener connected to; default the "
                          "target group's (a CODE_DEPLOY service's test listener reaches its "
                          "replacement task set).")

    @model_validator(mode="after")
    def _connection_rate(self) -> Flow:
        if self.connections is not None and "rate" in self.model_fields_set:
            raise ValueError("a flow with connections sends requests x connections.rate "
                             "packets/s: give the rate as connections.rate, not rate")
        if self.connections is not None and self.connections.destinations > 1 and \
                self.to != "internet":
            raise ValueError("connections.destinations spreads connections over addresses "
                             "on the internet: it needs to: internet")
        return self


class InstanceSelector(Model):
    group: str
    count: int = Field(1, ge=1)


class SpotInterruption(Model):
    """Which FARGATE_SPOT tasks a Spot interruption reaches."""

    capacity_provider: Literal["FARGATE_SPOT"] = "FARGATE_SPOT"
    service: str | None = Field(None, description="Only this service's tasks; null: every "
                                                  "service's.")
    count: int | None = Field(None, ge=1, description="How many tasks (the oldest first); "
                                                      "null: all of them.")


class Event(Model):
    """Something that happens at a simulated time (the clock starts at 0 with placement)."""

    at: Duration
    deploy: str | None = Field(None, description="Roll out a new revision of this service.")
    set: dict[str, Any] = Field(
        default_factory=dict, description="With deploy: fields of the service that change, "
                                          "e.g. {cpu: 512}.")
    scale: str | None = Field(None, description="Change this service's desired count.")
    desired_count: int | None = Field(None, ge=0, le=100000)
    drain: InstanceSelector | None = None
    terminate: InstanceSelector | None = None
    interrupt: SpotInterruption | None = Field(
        None, description="Fargate Spot takes capacity back: the tasks get the two-minute "
                          "warning (SIGTERM) and stop two minutes later.")


class Fargate(Model):
    """The Fargate platform's timing (tasks with ``launch_type: FARGATE``)."""

    task_start_delay: Duration = Field(
        40.0, description="From launch to RUNNING: capacity, ENI, micro-VM and image pull "
                          "(assumption: AWS publishes no figure; see docs/calibration.md).")


class TimeSeries(Model):
    """How ``timeseries.csv`` cuts the measured window."""

    window: Duration = Field(
        0.1, gt=0, description="Length of a window (a run keeps at most 1000 windows; a "
                               "longer run gets wider ones).")


class Variant(Model):
    name: VariantName
    set: dict[str, Any] = Field(default_factory=dict)


def _claim_text(value: Any) -> Any:
    """A claim is a string; unquoted, ``- awsvpc: web.running == 4`` is a YAML mapping."""
    if isinstance(value, dict) and len(value) == 1:
        (k, v), = value.items()
        raise ValueError(f"YAML read this claim as a mapping; quote it: \"{k}: {v}\"")
    return value


def _claim(text: str) -> str:
    _expect.parse(text)  # a ValueError says what is wrong
    return text


#: One ``expect:`` claim (the language: :mod:`ecsnetsim.scenario.expect`).
Claim = Annotated[str, BeforeValidator(_claim_text), AfterValidator(_claim)]


class Scenario(Model):
    """A whole scenario: the cluster, its services, traffic, and what to compare."""

    version: Literal[1]
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str | None = None
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Fixes every draw; 0 to 2**128-1.")
    duration: Duration = 10.0
    replications: int = Field(
        1, ge=1, le=1000, description="Independent replications of every variant (seeds "
                                      "spawned from seed); 2 or more give 95 % intervals.")
    steady_horizon: Duration = Field(
        3600.0, gt=0, description="Traffic starts when every service is steady, or this long "
                                  "after the last event if one never is (a task that keeps "
                                  "failing to start): the run always ends.")
    warmup: Duration = 0.0
    account: Account = Field(default_factory=Account)
    vpc: Vpc
    cluster: Cluster = Field(default_factory=Cluster)
    fargate: Fargate = Field(default_factory=Fargate)
    timeseries: TimeSeries = Field(default_factory=TimeSeries)
    services: list[Service] = Field(default_factory=list)
    load_balancers: list[LoadBalancer] = Field(default_factory=list)
    traffic: list[Flow] = Field(default_factory=list)
    flow_logs: bool = Field(False, description="Write flow_logs.csv (VPC flow log v2 fields).")
    events: list[Event] = Field(default_factory=list)
    compare: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="field -> values: one variant per value (network_mode applies to every "
                    "service); or variants: [{name, set: {path: value}}].")
    sweep: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(
        default_factory=dict, max_length=1,
        description="One field path -> values, e.g. {traffic[0].rate: [1000/s, 5000/s]}; "
                    "crossed with compare, one variant per point.")
    calibration: dict[str, dict[str, Any]] = Field(default_factory=dict)
    expect: list[Claim] = Field(
        default_factory=list, max_length=500,
        description="Claims over the results that the run should make true, e.g. "
                    "\"awsvpc: web.running == 4\" or \"bridge: flow in.hops > host: flow "
                    "in.hops\" (the language: README, Checked expectations); 'run' says "
                    "whether the run agrees.")

    @model_validator(mode="after")
    def _cluster_default_strategy(self) -> Scenario:
        """A service that names neither a launch type nor a strategy takes the cluster's
        default capacity provider strategy (CreateService: "If no capacityProviderStrategy
        or launchType is specified, the defaultCapacityProviderStrategy for the cluster is
        used")."""
        default = self.cluster.default_capacity_provider_strategy
        if not default:
            return self
        for svc in self.services:
            if svc.capacity_provider_strategy is None and \
                    "launch_type" not in svc.model_fields_set:
                svc.capacity_provider_strategy = [i.model_copy() for i in default]
                kind = strategy_launch_type(default)
                if kind is not None:
                    svc.launch_type = kind
        return self

    def service_named(self, to: str) -> Service | None:
        """The service a flow's ``to`` names: its name, or its Cloud Map name
        ``<service>.<namespace>``."""
        for svc in self.services:
            sd = svc.service_discovery
            if to == svc.name or (sd is not None and to == f"{svc.name}.{sd.namespace}"):
                return svc
        return None

    def load_balancer(self, name: str) -> LoadBalancer | None:
        return next((lb for lb in self.load_balancers if lb.name == name), None)

    def balancer_for(self, via: str, target_type: str) -> LoadBalancer:
        """The load balancer a flow's ``via`` names, or ``alb``/``nlb`` with AWS's
        defaults for ``target_type`` (so that the VPC model need not build one)."""
        return self.load_balancer(via) or LoadBalancer(name=via, type=via,
                                                       target_type=target_type)

    # Set by the loader: where the scenario came from and its validated variants.
    _source: Any = PrivateAttr(None)
    _variants: Any = PrivateAttr(None)
