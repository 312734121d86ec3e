"""CloudFormation resource types, each into the neutral items of :mod:`.stack`.

Property names are the CloudFormation resource reference's (AWS::EC2::Subnet CidrBlock,
AWS::ECS::Service NetworkConfiguration.AwsvpcConfiguration.Subnets, ...). Resource
types not listed here are left out with a comment: they do not change where tasks
place or the path a packet takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .intrinsics import Template
from .stack import Origin, Stack, as_list

Handler = Callable[[Stack, str, dict, Origin, Template], None]


def _d(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _rule(r: dict, direction: str) -> dict:
    peer = r.get("SourceSecurityGroupId") or r.get("SourceSecurityGroupName") \
        if direction == "ingress" else r.get("DestinationSecurityGroupId")
    return {"protocol": r.get("IpProtocol", "tcp"), "from_port": r.get("FromPort"),
            "to_port": r.get("ToPort"), "cidr": r.get("CidrIp"), "peer": peer,
            "other": r.get("CidrIpv6") or r.get("SourcePrefixListId")
            or r.get("DestinationPrefixListId")}


def _vpc(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    s.add("vpc", key, key, o, cidr=p.get("CidrBlock"))


def _subnet(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    s.add("subnet", key, o.name.rsplit(".", 1)[-1], o, cidr=p.get("CidrBlock"),
          az=p.get("AvailabilityZone"), public=p.get("MapPublicIpOnLaunch"), vpc=p.get("VpcId"))


def _nat(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    s.add("nat", key, o.name.rsplit(".", 1)[-1], o, subnet=p.get("SubnetId"))


def _route_table(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    s.add("route_table", key, key, o)


def _route(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    kind, target = "other", p.get("TransitGatewayId") or p.get("VpcPeeringConnectionId") \
        or p.get("InstanceId") or p.get("VpcEndpointId")
    if p.get("NatGatewayId"):
        kind, target = "nat", p["NatGatewayId"]
    elif p.get("GatewayId"):
        gw = p["GatewayId"]
        kind = "igw" if s_type(t, gw) in ("AWS::EC2::InternetGateway", "") and \
            not str(gw).startswith("vgw-") else "other"
        target = gw
    s.add("route", key, key, o, table=p.get("RouteTableId"), dest=p.get("DestinationCidrBlock"),
          target_kind=kind, target=target)


def s_type(t: Template, ref: Any) -> str:
    """The type of the resource ``ref`` names in ``t`` ('' for one outside it)."""
    name = str(ref)[len(t.prefix):] if str(ref).startswith(t.prefix) else str(ref)
    spec = t.resources.get(name)
    return str(spec.get("Type", "")) if isinstance(spec, dict) else ""


def _assoc(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    s.add("rt_assoc", key, key, o, subnet=p.get("SubnetId"), table=p.get("RouteTableId"))


def _security_group(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    egress = p.get("SecurityGroupEgress")
    s.add("sg", key, o.name.rsplit(".", 1)[-1], o, aliases=(p.get("GroupName"),),
          ingress=[_rule(_d(r), "ingress") for r in as_list(p.get("SecurityGroupIngress"))],
          egress=None if egress is None else [_rule(_d(r), "egress") for r in as_list(egress)])


def _sg_rule(direction: str) -> Handler:
    def add(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
        s.add("sg_rule", key, key, o, group=p.get("GroupId") or p.get("GroupName"),
              direction=direction, rule=_rule(p, direction))
    return add


def _launch_template(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    data = _d(p.get("LaunchTemplateData"))
    nics = [_d(n) for n in as_list(data.get("NetworkInterfaces"))]
    primary = next((n for n in nics if str(n.get("DeviceIndex", 0)) == "0"), {})
    meta = _d(data.get("MetadataOptions"))
    s.add("launch_template", key, key, o, aliases=(p.get("LaunchTemplateName"),),
          instance_type=data.get("InstanceType"), image=data.get("ImageId"),
          security_groups=as_list(data.get("SecurityGroupIds")) or
          as_list(data.get("SecurityGroups")) or as_list(primary.get("Groups")),
          public_ip=primary.get("AssociatePublicIpAddress"),
          http_tokens=meta.get("HttpTokens"), hop_limit=meta.get("HttpPutResponseHopLimit"))


def _launch_configuration(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    meta = _d(p.get("MetadataOptions"))
    s.add("launch_template", key, key, o, aliases=(p.get("LaunchConfigurationName"),),
          instance_type=p.get("InstanceType"), image=p.get("ImageId"),
          security_groups=as_list(p.get("SecurityGroups")),
          public_ip=p.get("AssociatePublicIpAddress"), http_tokens=meta.get("HttpTokens"),
          hop_limit=meta.get("HttpPutResponseHopLimit"))


def _asg(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    mixed = _d(p.get("MixedInstancesPolicy"))
    spec = _d(p.get("LaunchTemplate")) or _d(_d(mixed.get("LaunchTemplate")).get(
        "LaunchTemplateSpecification"))
    overrides = as_list(_d(mixed.get("LaunchTemplate")).get("Overrides"))
    types = [_d(x).get("InstanceType") for x in overrides if _d(x).get("InstanceType")]
    template = spec.get("LaunchTemplateId") or spec.get("LaunchTemplateName") \
        or p.get("LaunchConfigurationName")
    s.add("asg", key, o.name.rsplit(".", 1)[-1], o, aliases=(p.get("AutoScalingGroupName"),),
          desired=p.get("DesiredCapacity"), min=p.get("MinSize"), max=p.get("MaxSize"),
          subnets=as_list(p.get("VPCZoneIdentifier")), launch_template=template,
          instance_types=types)


def _cluster(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    s.add("cluster", key, o.name.rsplit(".", 1)[-1], o, aliases=(p.get("ClusterName"),),
          default_strategy=_strategy(p.get("DefaultCapacityProviderStrategy")))


def _strategy(value: Any) -> list[dict]:
    return [{"provider": _d(x).get("CapacityProvider"), "base": _d(x).get("Base"),
             "weight": _d(x).get("Weight")} for x in as_list(value)]


def _capacity_provider(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    asg = _d(p.get("AutoScalingGroupProvider"))
    scaling = _d(asg.get("ManagedScaling"))
    s.add("capacity_provider", key, o.name.rsplit(".", 1)[-1], o, aliases=(p.get("Name"),),
          asg=asg.get("AutoScalingGroupArn"),
          managed_scaling=str(scaling.get("Status", "")).upper() == "ENABLED",
          target_capacity=scaling.get("TargetCapacity"),
          minimum_scaling_step_size=scaling.get("MinimumScalingStepSize"),
          maximum_scaling_step_size=scaling.get("MaximumScalingStepSize"))


def _cluster_cps(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    s.add("cluster_cps", key, key, o, cluster=p.get("Cluster"),
          providers=as_list(p.get("CapacityProviders")),
          default_strategy=_strategy(p.get("DefaultCapacityProviderStrategy")))


#: Container definition properties the task definition translation reads, by their
#: CloudFormation names, and the names ``describe-task-definition`` prints.
_CONTAINER_KEYS = {"Name": "name", "Cpu": "cpu", "Memory": "memory",
                   "MemoryReservation": "memoryReservation", "Links": "links",
                   "ResourceRequirements": "resourceRequirements", "Essential": "essential",
                   "Image": "image"}
_PORT_KEYS = {"ContainerPort": "containerPort", "HostPort": "hostPort",
              "Protocol": "protocol", "ContainerPortRange": "containerPortRange"}


def _container(c: dict) -> dict:
    out = {name: c[key] for key, name in _CONTAINER_KEYS.items() if key in c}
    if "ResourceRequirements" in c:
        out["resourceRequirements"] = [{"type": _d(r).get("Type"), "value": _d(r).get("Value")}
                                       for r in as_list(c["ResourceRequirements"])]
    for key in ("Cpu", "Memory", "MemoryReservation"):
        if isinstance(c.get(key), str) and c[key].strip().isdigit():
            out[_CONTAINER_KEYS[key]] = int(c[key])
    maps = []
    for pm in as_list(c.get("PortMappings")):
        m = {name: _d(pm)[key] for key, name in _PORT_KEYS.items() if key in _d(pm)}
        for key in ("containerPort", "hostPort"):
            if isinstance(m.get(key), str) and m[key].isdigit():
                m[key] = int(m[key])
        if isinstance(m.get("protocol"), str):
            m["protocol"] = m["protocol"].lower()
        maps.append(m)
    if maps:
        out["portMappings"] = maps
    return out


def _task_definition(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    td: dict[str, Any] = {"family": p.get("Family") or key,
                          "containerDefinitions": [_container(_d(c)) for c in
                                                   as_list(p.get("ContainerDefinitions"))]}
    for cfn, cli in (("NetworkMode", "networkMode"), ("Cpu", "cpu"), ("Memory", "memory"),
                     ("RequiresCompatibilities", "requiresCompatibilities")):
        if p.get(cfn) is not None:
            td[cli] = p[cfn]
    platform = _d(p.get("RuntimePlatform"))
    if platform:
        td["runtimePlatform"] = {"operatingSystemFamily": platform.get("OperatingSystemFamily"),
                                 "cpuArchitecture": platform.get("CpuArchitecture")}
        td["runtimePlatform"] = {k: v for k, v in td["runtimePlatform"].items() if v}
    constraints = [{"type": _d(c).get("Type"), "expression": _d(c).get("Expression")}
                   for c in as_list(p.get("PlacementConstraints"))]
    if constraints:
        td["placementConstraints"] = constraints
    s.add("task_definition", key, key, o, aliases=(p.get("Family"),), td=td)


def _service(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    vpc = _d(_d(p.get("NetworkConfiguration")).get("AwsvpcConfiguration"))
    dep = _d(p.get("DeploymentConfiguration"))
    breaker = _d(dep.get("DeploymentCircuitBreaker"))
    s.add("service", key, p.get("ServiceName") or o.name.rsplit(".", 1)[-1], o,
          cluster=p.get("Cluster"), task_definition=p.get("TaskDefinition"),
          desired=p.get("DesiredCount"), launch_type=p.get("LaunchType"),
          strategy=_strategy(p.get("CapacityProviderStrategy")),
          subnets=as_list(vpc.get("Subnets")), security_groups=as_list(vpc.get("SecurityGroups")),
          public_ip=vpc.get("AssignPublicIp"),
          placement_strategy=[{"type": _d(x).get("Type"), "field": _d(x).get("Field")}
                              for x in as_list(p.get("PlacementStrategies"))],
          placement_constraints=[{"type": _d(x).get("Type"), "expression":
                                  _d(x).get("Expression")}
                                 for x in as_list(p.get("PlacementConstraints"))],
          min_healthy=dep.get("MinimumHealthyPercent"), max_percent=dep.get("MaximumPercent"),
          circuit_breaker={"enable": breaker.get("Enable"), "rollback": breaker.get("Rollback")}
          if breaker else None,
          controller=_d(p.get("DeploymentController")).get("Type"),
          grace=p.get("HealthCheckGracePeriodSeconds"), scheduling=p.get("SchedulingStrategy"),
          registries=len(as_list(p.get("ServiceRegistries"))),
          load_balancers=[{"target_group": _d(x).get("TargetGroupArn")
                           or _d(x).get("LoadBalancerName"),
                           "container": _d(x).get("ContainerName"),
                           "port": _d(x).get("ContainerPort")}
                          for x in as_list(p.get("LoadBalancers"))])


def _load_balancer(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    subnets = as_list(p.get("Subnets")) or [_d(m).get("SubnetId")
                                           for m in as_list(p.get("SubnetMappings"))]
    s.add("load_balancer", key, o.name.rsplit(".", 1)[-1], o, aliases=(p.get("Name"),),
          type=p.get("Type") or "application", scheme=p.get("Scheme") or "internet-facing",
          subnets=subnets, security_groups=as_list(p.get("SecurityGroups")))


def _target_group(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    attrs = {_d(a).get("Key"): _d(a).get("Value") for a in as_list(p.get("TargetGroupAttributes"))}
    s.add("target_group", key, o.name.rsplit(".", 1)[-1], o, aliases=(p.get("Name"),),
          port=p.get("Port"), protocol=p.get("Protocol"), target_type=p.get("TargetType"),
          interval=p.get("HealthCheckIntervalSeconds"),
          healthy=p.get("HealthyThresholdCount"), unhealthy=p.get("UnhealthyThresholdCount"),
          dereg=attrs.get("deregistration_delay.timeout_seconds"))


def _forwards(actions: Any) -> list:
    out = []
    for a in as_list(actions):
        a = _d(a)
        if a.get("TargetGroupArn"):
            out.append(a["TargetGroupArn"])
        for tg in as_list(_d(a.get("ForwardConfig")).get("TargetGroups")):
            if _d(tg).get("TargetGroupArn"):
                out.append(_d(tg)["TargetGroupArn"])
    return out


def _listener(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    s.add("listener", key, key, o, load_balancer=p.get("LoadBalancerArn"), port=p.get("Port"),
          protocol=p.get("Protocol"), target_groups=_forwards(p.get("DefaultActions")))


def _listener_rule(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    s.add("listener_rule", key, key, o, listener=p.get("ListenerArn"),
          target_groups=_forwards(p.get("Actions")))


def _igw(s: Stack, key: str, p: dict, o: Origin, t: Template) -> None:
    s.add("igw", key, key, o)


HANDLERS: dict[str, Handler] = {
    "AWS::EC2::VPC": _vpc,
    "AWS::EC2::Subnet": _subnet,
    "AWS::EC2::InternetGateway": _igw,
    "AWS::EC2::NatGateway": _nat,
    "AWS::EC2::RouteTable": _route_table,
    "AWS::EC2::Route": _route,
    "AWS::EC2::SubnetRouteTableAssociation": _assoc,
    "AWS::EC2::SecurityGroup": _security_group,
    "AWS::EC2::SecurityGroupIngress": _sg_rule("ingress"),
    "AWS::EC2::SecurityGroupEgress": _sg_rule("egress"),
    "AWS::EC2::LaunchTemplate": _launch_template,
    "AWS::AutoScaling::LaunchConfiguration": _launch_configuration,
    "AWS::AutoScaling::AutoScalingGroup": _asg,
    "AWS::ECS::Cluster": _cluster,
    "AWS::ECS::CapacityProvider": _capacity_provider,
    "AWS::ECS::ClusterCapacityProviderAssociations": _cluster_cps,
    "AWS::ECS::TaskDefinition": _task_definition,
    "AWS::ECS::Service": _service,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _target_group,
    "AWS::ElasticLoadBalancingV2::Listener": _listener,
    "AWS::ElasticLoadBalancingV2::ListenerRule": _listener_rule,
}

#: Resource types left out on purpose, and why (the comment the scenario gets).
WHY_NOT = {
    "AWS::CloudFormation::Stack": "a nested stack: its resources are imported in its place",
    "AWS::EC2::VPCGatewayAttachment": "the internet gateway is taken as attached",
    "AWS::EC2::EIP": "an Elastic IP changes no placement or path in the model",
    "AWS::IAM::Role": "IAM is not part of the network model",
    "AWS::IAM::InstanceProfile": "IAM is not part of the network model",
    "AWS::IAM::Policy": "IAM is not part of the network model",
    "AWS::Logs::LogGroup": "logging is not part of the network model",
}


def add_resources(stack: Stack, t: Template, name: str, spec: dict, origin: Origin) -> None:
    """Add the items of one resource, or say why it is left out."""
    kind = str(spec["Type"])
    handler = HANDLERS.get(kind)
    if handler is None:
        if kind != "AWS::CloudFormation::Stack":
            stack.ignore(origin, WHY_NOT.get(kind, "a resource type the network model does "
                                                   "not use"))
        return
    props = t.resolve(spec.get("Properties") or {}, f"{origin.name}.Properties")
    handler(stack, origin.name, props if isinstance(props, dict) else {}, origin, t)
