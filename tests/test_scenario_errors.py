"""Bad scenarios get one clear error: file, field path, line, what was expected; exit 2.

Every case is checked twice: through ``ecsnetsim.load_scenario`` (the
:class:`ecsnetsim.ScenarioError` carries ``file``, ``path`` and ``line``) and through
``ecsnetsim validate`` (exit status 2, the same location on stderr, no traceback).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli as cli

import ecsnetsim
from ecsnetsim import ScenarioError, calibration, load_scenario
from ecsnetsim.errors import InputError
from ecsnetsim.scenario import variants_of

DATA = Path(__file__).resolve().parent / "data"

# Block style, so that every field sits on a line of its own.
BASE = """\
version: 1
name: t
duration: 2s
vpc:
  subnets:
    - name: a
      cidr: 10.0.0.0/24
      az: us-east-1a
cluster:
  instance_groups:
    - name: hosts
      type: c5.large
      count: 2
      subnet: a
services:
  - name: web
    desired_count: 2
    network_mode: bridge
    cpu: 256
    memory: 512
    containers:
      - name: nginx
        port_mappings:
          - container_port: 80
            host_port: 80
traffic:
  - name: ingress
    to: web
    port: 80
    rate: 100/s
"""


def sub(*pairs: str, text: str = BASE) -> str:
    """``text`` with each ``old, new`` pair replaced once (the old text must be there)."""
    assert len(pairs) % 2 == 0
    for old, new in zip(pairs[::2], pairs[1::2], strict=True):
        assert text.count(old) == 1, f"{old!r} is not unique in the scenario"
        text = text.replace(old, new)
    return text


def line_no(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based number of the ``nth`` line of ``text`` that contains ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} is not in the scenario"
    return hits[nth - 1]


def where(file, line: int | None, path: str | None) -> str:
    """The location prefix of an error message, as ``file:line: path: ``."""
    loc = str(file) + (f":{line}" if line is not None else "")
    return f"{loc}: {path}: " if path else f"{loc}: "


def check_error(capsys, file: Path, *, line: int | None, path: str | None,
                contains: tuple[str, ...] = (), sets: tuple[str, ...] = ()) -> str:
    """Assert that ``file`` fails with the given location both in the API and the CLI."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(file, overrides=list(sets))
    err = info.value
    assert (err.file, err.line, err.path) == (str(file), line, path), str(err)
    for fragment in contains:
        assert fragment in err.message
    set_args = [a for s in sets for a in ("--set", s)]
    rc, out, stderr = cli(capsys, "validate", str(file), *set_args)
    assert rc == 2
    assert out == ""
    assert "Traceback" not in stderr
    assert stderr.startswith("ecsnetsim: error: " + where(file, line, path)), stderr
    assert stderr.count("ecsnetsim: error:") == 1
    for fragment in contains:
        assert fragment in stderr
    return stderr


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return f


def check_text(tmp_path, capsys, text: str, *, line_of: str | int | None, path: str | None,
               contains: tuple[str, ...] = (), nth: int = 1, sets: tuple[str, ...] = ()):
    """Write ``text`` and check its error; ``line_of`` is a line number or a needle."""
    f = write(tmp_path, text)
    line = line_no(text, line_of, nth) if isinstance(line_of, str) else line_of
    return check_error(capsys, f, line=line, path=path, contains=contains, sets=sets)


# ---- the base scenario itself is valid -------------------------------------------------------

def test_base_scenario_is_valid(tmp_path, capsys):
    f = write(tmp_path, BASE)
    sc = load_scenario(f)
    assert sc.services[0].containers[0].port_mappings[0].host_port == 80
    assert sc.traffic[0].rate == 100.0
    rc, out, err = cli(capsys, "validate", str(f))
    assert (rc, err) == (0, "")
    assert "ok" in out


def test_error_text_format():
    e = ScenarioError("expected 1", file="s.yaml", path="version", line=3)
    assert str(e) == "s.yaml:3: version: expected 1"
    assert str(ScenarioError("no such file", file="s.yaml")) == "s.yaml: no such file"
    assert str(ScenarioError("bad", path="services[0]")) == "services[0]: bad"
    assert str(ScenarioError("bad")) == "bad"
    assert isinstance(e, InputError)
    assert ecsnetsim.ScenarioError is ScenarioError


# ---- not a scenario at all -------------------------------------------------------------------

@pytest.mark.parametrize("text, line, fragment", [
    ("version: 1\nname: [t\nvpc: x\n", 3, "not valid YAML"),           # unclosed flow list
    ("version: 1\nname: t: u\n", 2, "mapping values are not allowed"),
    ("version: 1\n\tname: t\n", 2, "'\\t'"),                            # tab indentation
    ("version: 1\nname: t\n  nested: x\n", 3, "not valid YAML"),
    ("version: 1\nname: \"t\n", 3, "not valid YAML"),                    # unclosed quote
    ("version: 1\nname: \x00\x01\n", 2, "unacceptable character #x0000"),
], ids=["flow", "mapping-values", "tab", "indent", "quote", "control-char"])
def test_yaml_syntax_error_names_the_line(tmp_path, capsys, text, line, fragment):
    stderr = check_error(capsys, write(tmp_path, text), line=line, path=None,
                         contains=(fragment,))
    assert "<unicode string>" not in stderr


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path, capsys, text):
    check_error(capsys, write(tmp_path, text), line=1, path=None, contains=("empty",))


@pytest.mark.parametrize("text", ["- version: 1\n- name: t\n", "just some words\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path, capsys, text):
    check_error(capsys, write(tmp_path, text), line=1, path=None,
                contains=("expected a mapping", "version, name, vpc"))


def test_top_level_list_with_set_still_says_mapping(tmp_path, capsys):
    check_error(capsys, write(tmp_path, "- a\n"), line=1, path=None, sets=("name=x",),
                contains=("expected a mapping",))


def test_missing_file(tmp_path, capsys):
    check_error(capsys, tmp_path / "nope.yaml", line=None, path=None,
                contains=("no such file",))


def test_directory(tmp_path, capsys):
    check_error(capsys, tmp_path, line=None, path=None, contains=("is a directory",))


def test_not_utf8(tmp_path, capsys):
    f = tmp_path / "latin1.yaml"
    f.write_bytes("version: 1\nname: caf\u00e9\n".encode("latin-1"))
    check_error(capsys, f, line=None, path=None, contains=("UTF-8",))


def test_duplicate_top_level_key(tmp_path, capsys):
    text = BASE + "name: u\n"
    check_text(tmp_path, capsys, text, line_of="name: u", path="name",
               contains=("duplicate key 'name'",))


def test_duplicate_nested_key(tmp_path, capsys):
    text = sub("    cpu: 256\n", "    cpu: 256\n    cpu: 512\n")
    check_text(tmp_path, capsys, text, line_of="cpu: 512", path="services[0].cpu",
               contains=("duplicate key 'cpu'",))


def test_duplicate_key_in_flow_mapping(tmp_path, capsys):
    text = sub("    - name: a\n      cidr: 10.0.0.0/24\n      az: us-east-1a\n",
               "    - {name: a, cidr: 10.0.0.0/24, name: b}\n")
    check_text(tmp_path, capsys, text, line_of="name: b", path="vpc.subnets[0].name",
               contains=("duplicate key",))


@pytest.mark.parametrize("tail, path", [("x: &a [1, *a]\n", "x[1]"),
                                        ("x: &a {y: *a}\n", "x.y")])
def test_alias_inside_itself(tmp_path, capsys, tail, path):
    text = BASE + tail
    check_text(tmp_path, capsys, text, line_of=len(text.splitlines()), path=path,
               contains=("alias refers to a mapping or list that contains it",))


def test_anchors_and_aliases_are_read(tmp_path):
    text = sub("    desired_count: 2\n    network_mode: bridge\n    cpu: 256\n",
               "    desired_count: &n 2\n    network_mode: bridge\n    cpu: *n\n",
               "      subnet: a\n",
               "      subnet: a\n      agent: &agent {eni_attach_delay: 1s}\n"
               "    - {name: more, type: c5.large, agent: *agent}\n")
    sc = load_scenario(write(tmp_path, text))
    assert sc.services[0].cpu == 2
    assert [g.agent.eni_attach_delay for g in sc.cluster.instance_groups] == [1.0, 1.0]


@pytest.mark.parametrize("key, what", [("on", "a boolean"), ("80", "a number"), ("null", "null")])
def test_key_that_yaml_reads_as_a_non_string(tmp_path, capsys, key, what):
    text = BASE + f"{key}: 1\n"
    check_text(tmp_path, capsys, text, line_of=len(text.splitlines()), path=None,
               contains=(f"YAML reads as {what}", "quote it"))


# ---- required fields, version, unknown keys --------------------------------------------------

@pytest.mark.parametrize("field, text", [
    ("version", sub("version: 1\n", "")),
    ("name", sub("name: t\n", "")),
    ("vpc", sub("vpc:\n  subnets:\n    - name: a\n      cidr: 10.0.0.0/24\n      az: us-east-1a\n",
                "")),
])
def test_missing_required_top_level_field(tmp_path, capsys, field, text):
    check_text(tmp_path, capsys, text, line_of=1, path=field,
               contains=("required field is missing",))


def test_missing_required_nested_field_points_at_the_item(tmp_path, capsys):
    text = sub("      cidr: 10.0.0.0/24\n", "")
    check_text(tmp_path, capsys, text, line_of="- name: a", path="vpc.subnets[0].cidr",
               contains=("required field is missing",))


@pytest.mark.parametrize("value", ["2", "0", "'1'", "yes", "v1"])
def test_wrong_version(tmp_path, capsys, value):
    text = sub("version: 1\n", f"version: {value}\n")
    check_text(tmp_path, capsys, text, line_of=1, path="version", contains=("expected",))


@pytest.mark.parametrize("old, new, path, expected", [
    ("    desired_count: 2\n", "    desried_count: 2\n", "services[0].desried_count",
     "desired_count"),
    ("duration: 2s\n", "duration: 2s\nservics: []\n", "servics", "services"),
    ("            host_port: 80\n", "            hostport: 80\n",
     "services[0].containers[0].port_mappings[0].hostport", "host_port"),
    ("      subnet: a\n", "      subnet: a\n      agent: {reserved_port: [22]}\n",
     "cluster.instance_groups[0].agent.reserved_port", "reserved_ports"),
    ("      az: us-east-1a\n", "      zone: us-east-1a\n", "vpc.subnets[0].zone", "az"),
    ("    memory: 512\n", "    memory: 512\n    placement_strategy:\n"
                        "      - type: spread\n        feild: instanceId\n",
     "services[0].placement_strategy[0].feild", "field"),
    ("duration: 2s\n", "duration: 2s\naccount: {awsvpc_trunkin: true}\n",
     "account.awsvpc_trunkin", "awsvpc_trunking"),
    ("    rate: 100/s\n", "    rate: 100/s\n    sise: 1200\n", "traffic[0].sise", "size"),
    ("      - name: nginx\n", "      - name: nginx\n        image: nginx\n",
     "services[0].containers[0].image", "port_mappings"),
], ids=["service", "top", "port-mapping", "agent", "subnet", "strategy", "account", "flow",
        "container"])
def test_unknown_key_lists_the_expected_keys(tmp_path, capsys, old, new, path, expected):
    text = sub(old, new)
    key = path.rsplit(".", 1)[-1]
    check_text(tmp_path, capsys, text, line_of=key, path=path,
               contains=(f"unknown key {key!r}", "expected one of:", expected))


def test_several_errors_are_listed_with_their_lines(tmp_path, capsys):
    text = sub("    desired_count: 2\n    network_mode: bridge\n    cpu: 256\n",
               "    desired_count: -1\n    network_mode: bridge\n    cpu: lots\n    memry: 3\n")
    stderr = check_text(tmp_path, capsys, text, line_of="desired_count",
                        path="services[0].desired_count")
    assert f"services[0].cpu (line {line_no(text, 'cpu: lots')})" in stderr
    assert f"services[0].memry (line {line_no(text, 'memry')})" in stderr


# ---- wrong types and out-of-range values -----------------------------------------------------

@pytest.mark.parametrize("old, new, path, fragments", [
    ("    desired_count: 2\n", "    desired_count: many\n", "services[0].desired_count",
     ("expected a whole number, got 'many'",)),
    ("    desired_count: 2\n", "    desired_count: yes\n", "services[0].desired_count",
     ("expected a number, not true",)),
    ("    desired_count: 2\n", "    desired_count: 2.5\n", "services[0].desired_count",
     ("expected a whole number, got 2.5",)),
    ("    desired_count: 2\n", "    desired_count: -1\n", "services[0].desired_count",
     ("must be at least 0 (got -1)",)),
    ("      count: 2\n", "      count: [2]\n", "cluster.instance_groups[0].count",
     ("expected a whole number, got a list of 1 item",)),
    ("      cidr: 10.0.0.0/24\n", "      cidr: 5\n", "vpc.subnets[0].cidr",
     ("expected text, got 5",)),
    ("name: t\n", "name: 2020-01-01\n", "name", ("'2020-01-01'", "date")),
    ("name: t\n", "name: my scenario\n", "name", ("letters, digits", "'my scenario'")),
    ("    network_mode: bridge\n", "    network_mode: nat\n", "services[0].network_mode",
     ("'awsvpc', 'bridge', 'host', 'none' or 'default'", "'nat'")),
    ("    network_mode: bridge\n", "    network_mode: bridge\n    launch_type: ec2\n",
     "services[0].launch_type", ("'EC2', 'FARGATE' or 'EXTERNAL'",)),
    ("      subnet: a\n", "      subnet: a\n      os: macos\n", "cluster.instance_groups[0].os",
     ("'linux' or 'windows'",)),
    ("    rate: 100/s\n", "    rate: 100/s\n    via: elb\n", "traffic[0].via",
     ("direct, alb, nlb or a load balancer's name", "'elb'")),
    ("duration: 2s\n", "duration: 2s\naccount: {awsvpc_trunking: maybe}\n",
     "account.awsvpc_trunking", ("expected true or false, got 'maybe'",)),
    ("            host_port: 80\n", "            host_port: 70000\n",
     "services[0].containers[0].port_mappings[0].host_port",
     ("must be at most 65535 (got 70000)",)),
    ("          - container_port: 80\n", "          - container_port: 0\n",
     "services[0].containers[0].port_mappings[0].container_port", ("must be at least 1",)),
    ("            host_port: 80\n", "            host_port: 80\n            protocol: sctp\n",
     "services[0].containers[0].port_mappings[0].protocol", ("'tcp' or 'udp'",)),
    ("      subnet: a\n", "      subnet: a\n      agent: {reserved_ports: [22, true]}\n",
     "cluster.instance_groups[0].agent.reserved_ports", ("expected a number, not true",)),
    ("      subnet: a\n", "      subnet: a\n      agent: {reserved_ports: [22, 0]}\n",
     "cluster.instance_groups[0].agent.reserved_ports[1]", ("must be at least 1 (got 0)",)),
    ("    port: 80\n", "    port: 65536\n", "traffic[0].port", ("65535",)),
    ("duration: 2s\n", "duration: 2s\nseed: -1\n", "seed", ("must be at least 0",)),
], ids=["int-word", "int-bool", "int-float", "negative-count", "int-list", "cidr-int",
        "name-date", "name-pattern", "mode", "launch-type", "os", "via", "bool", "host-port",
        "container-port", "protocol", "reserved-port-bool", "reserved-port", "flow-port",
        "seed"])
def test_wrong_type_or_range(tmp_path, capsys, old, new, path, fragments):
    text = sub(old, new)
    needle = new.strip().splitlines()[-1].strip().lstrip("- ")
    check_text(tmp_path, capsys, text, line_of=needle, path=path, contains=fragments)


def test_a_list_where_a_mapping_is_expected(tmp_path, capsys):
    text = "version: 1\nname: t\nvpc: {subnets: [{name: a, cidr: 10.0.0.0/24}]}\nservices: [web]\n"
    stderr = check_text(tmp_path, capsys, text, line_of="services", path="services[0]",
                        contains=("expected a mapping of fields (key: value), got 'web'",))
    assert "instance of" not in stderr


def test_a_mapping_where_a_list_is_expected(tmp_path, capsys):
    text = ("version: 1\nname: t\nvpc: {subnets: [{name: a, cidr: 10.0.0.0/24}]}\n"
            "services:\n  web: 1\n")
    check_text(tmp_path, capsys, text, line_of="services", path="services",
               contains=("list",))


# ---- CIDRs, durations, rates, port ranges ----------------------------------------------------

@pytest.mark.parametrize("cidr, fragment", [
    ("10.0.0.0/33", "IPv4 CIDR"),
    ("10.0.0.1/24", "host bits"),
    ("10.0.0/24", "IPv4 CIDR"),
    ("'2001:db8::/64'", "IPv4 CIDR"),
    ("10.0.0.0/29", "between /16 and /28 (got /29)"),
    ("10.0.0.0/15", "between /16 and /28 (got /15)"),
    ("10.0.0.0/8", "between /16 and /28"),
])
def test_bad_cidr(tmp_path, capsys, cidr, fragment):
    text = sub("      cidr: 10.0.0.0/24\n", f"      cidr: {cidr}\n")
    check_text(tmp_path, capsys, text, line_of="cidr:", path="vpc.subnets[0].cidr",
               contains=(fragment,))


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.0.0.0/28"])
def test_subnet_prefix_limits_are_inclusive(tmp_path, cidr):
    sc = load_scenario(write(tmp_path, sub("cidr: 10.0.0.0/24", f"cidr: {cidr}")))
    assert sc.vpc.subnets[0].cidr == cidr


@pytest.mark.parametrize("field, value, fragment", [
    ("duration", "10 parsecs", "'10 parsecs'"),
    ("duration", "-5s", "cannot be negative"),
    ("duration", "-5", "cannot be negative"),
    ("duration", ".inf", "finite"),
    ("duration", "[1]", "expected a duration"),
    ("duration", "yes", "expected a duration"),
    ("warmup", "1 fortnight", "units:"),
])
def test_bad_duration(tmp_path, capsys, field, value, fragment):
    text = sub("duration: 2s\n", f"duration: 2s\n{field}: {value}\n" if field != "duration"
               else f"duration: {value}\n")
    check_text(tmp_path, capsys, text, line_of=f"{field}: ", path=field,
               contains=(fragment,))


def test_bad_agent_duration(tmp_path, capsys):
    text = sub("      subnet: a\n",
               "      subnet: a\n      agent:\n        eni_attach_delay: soon\n")
    check_text(tmp_path, capsys, text, line_of="eni_attach_delay",
               path="cluster.instance_groups[0].agent.eni_attach_delay",
               contains=("expected a duration", "'soon'"))


@pytest.mark.parametrize("value, fragment", [
    ("fast", "expected a rate"),
    ("-5/s", "cannot be negative"),
    ("5/parsec", "'5/parsec'"),
    ("true", "expected a rate"),
    ("2000/s/s", "expected a rate"),
])
def test_bad_rate(tmp_path, capsys, value, fragment):
    text = sub("    rate: 100/s\n", f"    rate: {value}\n")
    check_text(tmp_path, capsys, text, line_of="rate:", path="traffic[0].rate",
               contains=(fragment,))


@pytest.mark.parametrize("value, fragment", [
    ("60000-50000", "start <= end"),
    ("0-100", "1 <= start"),
    ("1000-70000", "65535"),
    ("abc", "'start-end'"),
    ("1000", "'start-end'"),
    ("1-2-3", "'start-end'"),
])
def test_bad_dynamic_port_range(tmp_path, capsys, value, fragment):
    text = sub("      subnet: a\n",
               f"      subnet: a\n      agent:\n        dynamic_port_range: {value}\n")
    check_text(tmp_path, capsys, text, line_of="dynamic_port_range",
               path="cluster.instance_groups[0].agent.dynamic_port_range", contains=(fragment,))


def test_dynamic_port_range_is_normalized(tmp_path):
    text = sub("      subnet: a\n",
               "      subnet: a\n      agent: {dynamic_port_range: 40000-40100}\n")
    sc = load_scenario(write(tmp_path, text))
    assert sc.cluster.instance_groups[0].agent.dynamic_port_range == "40000-40100"


# ---- references between sections -------------------------------------------------------------

def test_unknown_instance_type_suggests_a_close_one(tmp_path, capsys):
    text = sub("      type: c5.large\n", "      type: c5.lrage\n")
    stderr = check_text(tmp_path, capsys, text, line_of="type: c5.lrage",
                        path="cluster.instance_groups[0].type",
                        contains=("unknown instance type 'c5.lrage'", "did you mean"))
    assert "c5.large" in stderr.split("did you mean", 1)[1]


def test_unknown_subnet_of_an_instance_group(tmp_path, capsys):
    text = sub("      subnet: a\n", "      subnet: private-b\n")
    check_text(tmp_path, capsys, text, line_of="subnet: private-b",
               path="cluster.instance_groups[0].subnet",
               contains=("no subnet named 'private-b'", "'a'"))


def test_unknown_subnet_of_an_awsvpc_service(tmp_path, capsys):
    text = sub("    network_mode: bridge\n", "    network_mode: awsvpc\n    subnets:\n      - a\n"
               "      - b\n", "            host_port: 80\n", "")
    check_text(tmp_path, capsys, text, line_of="- b", path="services[0].subnets[1]",
               contains=("no subnet named 'b'",))


@pytest.mark.parametrize("old, new, path, nth, what", [
    ("      az: us-east-1a\n", "      az: us-east-1a\n    - name: a\n      cidr: 10.0.1.0/24\n",
     "vpc.subnets[1].name", 2, "subnets"),
    ("      subnet: a\n", "      subnet: a\n    - name: hosts\n      type: c5.large\n",
     "cluster.instance_groups[1].name", 2, "instance groups"),
    ("traffic:\n", "  - name: web\ntraffic:\n", "services[1].name", 2, "services"),
    ("    rate: 100/s\n", "    rate: 100/s\n  - name: ingress\n    to: web\n", "traffic[1].name",
     2, "flows"),
])
def test_duplicate_names(tmp_path, capsys, old, new, path, nth, what):
    text = sub(old, new)
    name = new.split("- name: ")[1].split("\n")[0]
    check_text(tmp_path, capsys, text, line_of=f"- name: {name}", nth=nth, path=path,
               contains=(f"two {what} are named {name!r}",))


# ---- combinations AWS rejects, with AWS's reason ---------------------------------------------

def test_port_mappings_in_none_mode(tmp_path, capsys):
    text = sub("    network_mode: bridge\n", "    network_mode: none\n")
    check_text(tmp_path, capsys, text, line_of="- container_port: 80",
               path="services[0].containers[0].port_mappings[0]",
               contains=("port mappings are not supported", "'none'"))


@pytest.mark.parametrize("mode, host_port", [("host", 8080), ("awsvpc", 8080), ("awsvpc", 0),
                                             ("host", 0)])
def test_host_port_must_equal_container_port(tmp_path, capsys, mode, host_port):
    text = sub("    network_mode: bridge\n", f"    network_mode: {mode}\n",
               "            host_port: 80\n", f"            host_port: {host_port}\n")
    check_text(tmp_path, capsys, text, line_of="host_port:",
               path="services[0].containers[0].port_mappings[0].host_port",
               contains=(f"networkMode={mode}", "hostPort must be left empty or equal the "
                         "containerPort", f"hostPort {host_port}"))


@pytest.mark.parametrize("mode", ["host", "awsvpc"])
def test_host_port_equal_or_absent_is_fine(tmp_path, mode):
    same = sub("    network_mode: bridge\n", f"    network_mode: {mode}\n")
    absent = sub("            host_port: 80\n", "", text=same)
    for text in (same, absent):
        sc = load_scenario(write(tmp_path, text))
        assert sc.services[0].network_mode == mode


@pytest.mark.parametrize("mode", ["bridge", "host", "none"])
def test_fargate_needs_awsvpc(tmp_path, capsys, mode):
    text = sub("    network_mode: bridge\n",
               f"    network_mode: {mode}\n    launch_type: FARGATE\n",
               "    containers:\n      - name: nginx\n        port_mappings:\n"
               "          - container_port: 80\n            host_port: 80\n", "",
               "    port: 80\n", "")
    check_text(tmp_path, capsys, text, line_of="network_mode:", path="services[0].network_mode",
               contains=("Fargate only supports network mode 'awsvpc'", repr(mode)))


@pytest.mark.parametrize("field, value", [
    ("placement_strategy", "[{type: spread, field: instanceId}]"),
    ("placement_constraints", "[{type: distinctInstance}]"),
])
def test_fargate_has_no_placement(tmp_path, capsys, field, value):
    text = sub("    network_mode: bridge\n",
               f"    network_mode: awsvpc\n    launch_type: FARGATE\n    {field}: {value}\n")
    check_text(tmp_path, capsys, text, line_of=f"{field}:", path=f"services[0].{field}",
               contains=("Fargate does not support task placement",))


def test_trunk_tasks_on_windows_instances(tmp_path, capsys):
    text = sub("      subnet: a\n", "      subnet: a\n      os: windows\n      trunk_tasks: 4\n")
    check_text(tmp_path, capsys, text, line_of="trunk_tasks",
               path="cluster.instance_groups[0].trunk_tasks",
               contains=("trunking is not supported on Windows",))


@pytest.mark.parametrize("strategy, path, fragment", [
    ("{type: pack}", "services[0].placement_strategy[0].type",
     "'binpack', 'spread' or 'random'"),
    ("{type: binpack, field: disk}", "services[0].placement_strategy[0].field",
     "binpack needs field cpu or memory (got 'disk')"),
    ("{type: binpack}", "services[0].placement_strategy[0].field", "binpack needs field"),
    ("{type: spread, field: az}", "services[0].placement_strategy[0].field",
     "spread needs field instanceId, host or attribute:<name>"),
    ("{type: spread}", "services[0].placement_strategy[0].field", "spread needs field"),
    ("{type: random, field: cpu}", "services[0].placement_strategy[0].field",
     "random takes no field"),
    ("{field: cpu}", "services[0].placement_strategy[0].type", "required field is missing"),
])
def test_bad_placement_strategy(tmp_path, capsys, strategy, path, fragment):
    text = sub("    memory: 512\n",
               f"    memory: 512\n    placement_strategy:\n      - {strategy}\n")
    check_text(tmp_path, capsys, text, line_of=strategy, path=path, contains=(fragment,))


def test_too_many_placement_strategies(tmp_path, capsys):
    text = sub("    memory: 512\n", "    memory: 512\n    placement_strategy:\n"
               + "      - {type: random}\n" * 6)
    check_text(tmp_path, capsys, text, line_of="placement_strategy",
               path="services[0].placement_strategy", contains=("at most 5",))


@pytest.mark.parametrize("strategy", ["{type: binpack, field: cpu}",
                                      "{type: binpack, field: memory}",
                                      "{type: spread, field: host}",
                                      "{type: spread, field: 'attribute:ecs.availability-zone'}",
                                      "{type: random}"])
def test_good_placement_strategy(tmp_path, strategy):
    text = sub("    memory: 512\n",
               f"    memory: 512\n    placement_strategy:\n      - {strategy}\n")
    assert len(load_scenario(write(tmp_path, text)).services[0].placement_strategy) == 1


def constraint(body: str) -> str:
    return sub("    memory: 512\n", f"    memory: 512\n    placement_constraints:\n{body}")


def test_distinct_instance_takes_no_expression(tmp_path, capsys):
    text = constraint("      - type: distinctInstance\n        expression: attribute:a == b\n")
    check_text(tmp_path, capsys, text, line_of="expression:",
               path="services[0].placement_constraints[0].expression",
               contains=("distinctInstance takes no expression",))


def test_member_of_needs_an_expression(tmp_path, capsys):
    text = constraint("      - type: memberOf\n")
    check_text(tmp_path, capsys, text, line_of="type: memberOf",
               path="services[0].placement_constraints[0]",
               contains=("memberOf needs an expression", "cluster query language"))


@pytest.mark.parametrize("expression, fragment", [
    ("'attribute:ecs.instance-type =='", "expected a value after '=='"),
    ("'attribute:ecs.instance-type in t2.micro'", "position"),
    ("'(attribute:a == b'", "position"),
    ("'colour == red'", "position"),
])
def test_member_of_with_an_invalid_expression(tmp_path, capsys, expression, fragment):
    text = constraint(f"      - type: memberOf\n        expression: {expression}\n")
    check_text(tmp_path, capsys, text, line_of="expression:",
               path="services[0].placement_constraints[0].expression",
               contains=("invalid cluster query", fragment))


def test_member_of_with_a_valid_expression(tmp_path):
    text = constraint("      - type: memberOf\n"
                      "        expression: attribute:ecs.instance-type =~ c5.* and "
                      "not(task:group == service:web)\n")
    sc = load_scenario(write(tmp_path, text))
    assert sc.services[0].placement_constraints[0].type == "memberOf"


def test_unknown_constraint_type(tmp_path, capsys):
    text = constraint("      - type: sameInstance\n")
    check_text(tmp_path, capsys, text, line_of="sameInstance",
               path="services[0].placement_constraints[0].type",
               contains=("'distinctInstance' or 'memberOf'",))


# ---- traffic, warmup, calibration ------------------------------------------------------------

def test_traffic_to_an_unknown_service(tmp_path, capsys):
    text = sub("    to: web\n", "    to: api\n")
    check_text(tmp_path, capsys, text, line_of="to: api", path="traffic[0].to",
               contains=("no service named 'api'", "['web']"))


def test_traffic_from_an_unknown_service(tmp_path, capsys):
    text = sub("    to: web\n", "    from: worker\n    to: web\n")
    check_text(tmp_path, capsys, text, line_of="from: worker", path="traffic[0].from",
               contains=("'client' or a service name", "'worker'"))


def test_traffic_to_an_unmapped_port(tmp_path, capsys):
    text = sub("    port: 80\n", "    port: 81\n")
    check_text(tmp_path, capsys, text, line_of="port: 81", path="traffic[0].port",
               contains=("maps no container port 81", "[80]"))


def test_traffic_stop_before_start(tmp_path, capsys):
    text = sub("    rate: 100/s\n", "    rate: 100/s\n    start: 1s\n    stop: 500ms\n")
    check_text(tmp_path, capsys, text, line_of="stop:", path="traffic[0].stop",
               contains=("stop must come after start",))


@pytest.mark.parametrize("warmup", ["2s", "3s", "2000ms"])
def test_warmup_not_shorter_than_duration(tmp_path, capsys, warmup):
    text = sub("duration: 2s\n", f"duration: 2s\nwarmup: {warmup}\n")
    check_text(tmp_path, capsys, text, line_of="warmup:", path="warmup",
               contains=("warmup must be shorter than duration",))


def test_warmup_against_the_default_duration(tmp_path, capsys):
    text = sub("duration: 2s\n", "warmup: 20s\n")
    check_text(tmp_path, capsys, text, line_of="warmup:", path="warmup",
               contains=("warmup must be shorter than duration",))


@pytest.mark.parametrize("body, path, fragments", [
    ("  dokcer0: {service: 4us}\n", "calibration.dokcer0",
     ("unknown device kind 'dokcer0'", "docker0")),
    ("  docker0: {servce: 4us}\n", "calibration.docker0.servce",
     ("unknown calibration field 'servce'", "service")),
    ("  docker0: {service: fast}\n", "calibration.docker0.service", ("expected a duration",)),
    ("  docker0: {buffer: 0}\n", "calibration.docker0.buffer", ("positive whole number",)),
    ("  docker0: {bandwidth: 10 parsecs}\n", "calibration.docker0.bandwidth",
     ("expected a bandwidth",)),
    ("  docker0: 4us\n", "calibration.docker0", ("expected a mapping (key: value)",)),
])
def test_bad_calibration(tmp_path, capsys, body, path, fragments):
    text = BASE + "calibration:\n" + body
    check_text(tmp_path, capsys, text, line_of=body.split(":")[0].strip(), path=path,
               contains=fragments)


def test_calibration_override_is_kept(tmp_path):
    sc = load_scenario(write(tmp_path, BASE + "calibration:\n  docker0: {service: 4us}\n"))
    assert calibration.profile(sc.calibration)["docker0"].service == pytest.approx(4e-6)


# ---- --set PATH=VALUE ------------------------------------------------------------------------

@pytest.mark.parametrize("assignment, get, expected", [
    ("services[0].desired_count=8", lambda sc: sc.services[0].desired_count, 8),
    ("services.web.desired_count=8", lambda sc: sc.services[0].desired_count, 8),
    ("services.0.desired_count=8", lambda sc: sc.services[0].desired_count, 8),
    ("cluster.instance_groups.hosts.count=5", lambda sc: sc.cluster.instance_groups[0].count, 5),
    ("services[0].containers[0].port_mappings[0].host_port=0",
     lambda sc: sc.services[0].containers[0].port_mappings[0].host_port, 0),
    ("cluster.instance_groups[0].agent.reserved_ports=[1, 2]",
     lambda sc: sc.cluster.instance_groups[0].agent.reserved_ports, [1, 2]),
    ("account.awsvpc_trunking=true", lambda sc: sc.account.awsvpc_trunking, True),
    ("duration=500ms", lambda sc: sc.duration, 0.5),
    ("name=other", lambda sc: sc.name, "other"),
    ("calibration.docker0.service=4us",
     lambda sc: calibration.profile(sc.calibration)["docker0"].service, pytest.approx(4e-6)),
])
def test_set_changes_the_loaded_scenario(tmp_path, capsys, assignment, get, expected):
    f = write(tmp_path, BASE)
    assert get(load_scenario(f, overrides=[assignment])) == expected
    rc, out, err = cli(capsys, "validate", str(f), "--set", assignment)
    assert (rc, err) == (0, "")


def test_later_set_wins(tmp_path):
    f = write(tmp_path, BASE)
    sc = load_scenario(f, overrides=["services[0].cpu=128", "services.web.cpu=64"])
    assert sc.services[0].cpu == 64


@pytest.mark.parametrize("assignment, fragment", [
    ("services[0].desired_count", "expects PATH=VALUE"),
    ("services[3].desired_count=8", "index 3 does not exist"),
    ("services.api.desired_count=8", "no item named 'api'"),
    ("services[x.desired_count=8", "cannot read field path"),
    ("services[-1].cpu=1", "cannot read field path"),
    ("=8", "empty field path"),
    ("name.first=x", "name is a single value"),
    ("vpc[0]=1", "vpc is a mapping"),
    ("traffic[1].rate=5", "traffic has 1 items"),
])
def test_set_that_cannot_be_applied(tmp_path, capsys, assignment, fragment):
    stderr = check_error(capsys, write(tmp_path, BASE), line=None, path=None,
                         sets=(assignment,), contains=(fragment,))
    assert "--set" in stderr


@pytest.mark.parametrize("assignment, path, fragment", [
    ("services[0].desried_count=8", "services[0].desried_count", "unknown key 'desried_count'"),
    ("services.web.desried_count=8", "services[0].desried_count", "desired_count"),
    ("services[0].desired_count=many", "services[0].desired_count",
     "expected a whole number, got 'many'"),
    ("services[0].desired_count=[1, 2]", "services[0].desired_count",
     "expected a whole number, got a list of 2 items"),
    ("vpc.subnets[0].cidr=10.0.0.0/8", "vpc.subnets[0].cidr", "between /16 and /28"),
    ("cluster.instance_groups[0].type=c5.lrage", "cluster.instance_groups[0].type",
     "did you mean"),
])
def test_set_that_makes_the_scenario_invalid_names_the_set(tmp_path, capsys, assignment, path,
                                                           fragment):
    # The value does not come from the file, so there is no line to show; the --set is named.
    check_error(capsys, write(tmp_path, BASE), line=None, path=path, sets=(assignment,),
                contains=(f"--set {assignment}", fragment))


def test_set_that_conflicts_with_a_field_in_the_file_names_that_field(tmp_path, capsys):
    check_error(capsys, write(tmp_path, BASE), line=line_no(BASE, "- container_port: 80"),
                path="services[0].containers[0].port_mappings[0]",
                sets=("services.web.network_mode=none",), contains=("'none'",))


# ---- compare variants ------------------------------------------------------------------------

def test_compare_network_modes_adapts_port_mappings(tmp_path, capsys):
    text = sub("            host_port: 80\n", "            host_port: 8080\n") + (
        "compare: {network_mode: [host, awsvpc, bridge, none]}\n")
    f = write(tmp_path, text)
    sc = load_scenario(f)
    variants = {v.name: v for v in variants_of(sc)}
    assert list(variants) == ["host", "awsvpc", "bridge", "none"]
    for mode, v in variants.items():
        assert v.overrides == {"network_mode": mode}
        svc = v.scenario.services[0]
        assert svc.network_mode == mode
        maps = svc.containers[0].port_mappings
        if mode == "none":
            assert maps == []
        else:
            assert maps[0].container_port == 80
            assert maps[0].host_port == (8080 if mode == "bridge" else 80)
    rc, out, err = cli(capsys, "validate", str(f))
    assert rc == 0 and "4 variant(s)" in out


def test_compare_axis_of_any_field(tmp_path):
    sc = load_scenario(write(tmp_path, BASE + "compare:\n  services[0].desired_count: [1, 3]\n"))
    assert [(v.name, v.scenario.services[0].desired_count) for v in variants_of(sc)] == [
        ("services[0].desired_count=1", 1), ("services[0].desired_count=3", 3)]


def test_compare_variant_that_aws_rejects_names_the_variant(tmp_path, capsys):
    text = sub("            host_port: 80\n", "            host_port: 8080\n") + (
        "compare:\n"
        "  variants:\n"
        "    - name: as-is\n"
        "      set: {}\n"
        "    - name: host-mode\n"
        "      set: {'services[0].network_mode': host}\n")
    check_text(tmp_path, capsys, text, line_of="- name: host-mode",
               path="services[0].containers[0].port_mappings[0].host_port",
               contains=("in variant 'host-mode' (compare.variants[1])", "networkMode=host",
                         "hostPort 8080"))


def test_compare_variant_with_an_unknown_key(tmp_path, capsys):
    text = BASE + "compare:\n  variants:\n    - {name: big, set: {'services[0].cpuu': 1024}}\n"
    check_text(tmp_path, capsys, text, line_of="- {name: big", path="services[0].cpuu",
               contains=("in variant 'big'", "unknown key 'cpuu'", "cpu"))


def test_compare_variant_with_a_bad_path(tmp_path, capsys):
    text = BASE + "compare:\n  variants:\n    - {name: big, set: {'services[5].cpu': 1024}}\n"
    check_text(tmp_path, capsys, text, line_of="- {name: big",
               path="compare.variants[0].set.services[5].cpu",
               contains=("index 5 does not exist",))


def test_compare_axis_with_an_invalid_value(tmp_path, capsys):
    text = BASE + "compare:\n  network_mode: [host, nat]\n"
    check_text(tmp_path, capsys, text, line_of="network_mode: [host, nat]",
               path="services[0].network_mode", contains=("in variant 'nat'", "'nat'"))


@pytest.mark.parametrize("body, line_of, path", [
    ("  variants:\n    - {name: a, set: {}}\n    - {name: a, set: {}}\n", "- {name: a",
     "compare.variants[1]"),
    ("  network_mode: [host, host]\n", "network_mode: [", "compare.network_mode[1]"),
])
def test_duplicate_variant_names(tmp_path, capsys, body, line_of, path):
    text = BASE + "compare:\n" + body
    nth = 2 if "variants" in body else 1
    check_text(tmp_path, capsys, text, line_of=line_of, nth=nth, path=path,
               contains=("two variants are named",))


@pytest.mark.parametrize("body, line_of, path, fragment", [
    ("  variants:\n    - {name: a, set: [1]}\n", "- {name: a", "compare.variants[0].set",
     "mapping of field paths"),
    ("  variants:\n    - {set: {}}\n", "- {set", "compare.variants[0]", "with a name"),
    ("  variants:\n    - {name: a, sett: {}}\n", "- {name: a", "compare.variants[0].sett",
     "unknown key 'sett'"),
    ("  variants:\n    - just-a-name\n", "- just-a-name", "compare.variants[0]", "name"),
    ("  variants: {name: a}\n", "variants:", "compare.variants", "list"),
    ("  network_mode: []\n", "network_mode: []", "compare.network_mode", "non-empty list"),
    ("  network_mode: host\n", "network_mode: host", "compare.network_mode", "list"),
])
def test_malformed_compare(tmp_path, capsys, body, line_of, path, fragment):
    check_text(tmp_path, capsys, BASE + "compare:\n" + body, line_of=line_of, path=path,
               contains=(fragment,))


def test_compare_must_be_a_mapping(tmp_path, capsys):
    text = BASE + "compare: [host, bridge]\n"
    check_text(tmp_path, capsys, text, line_of="compare:", path="compare",
               contains=("expected a mapping (key: value), got a list",))


# ---- task_definition: an ECS task definition JSON --------------------------------------------

TD_SCENARIO = """\
version: 1
name: td
vpc:
  subnets:
    - {name: a, cidr: 10.0.0.0/24}
cluster:
  instance_groups:
    - {name: hosts, type: c5.large, count: 2, subnet: a}
services:
  - name: svc
    desired_count: 2
    task_definition: {path}
"""


def td_scenario(tmp_path: Path, td: str) -> Path:
    return write(tmp_path, TD_SCENARIO.replace("{path}", td))


def test_task_definition_from_describe_task_definition(tmp_path):
    shutil.copy(DATA / "taskdef_web.json", tmp_path / "web.json")
    svc = load_scenario(td_scenario(tmp_path, "web.json")).services[0]
    assert svc.network_mode == "bridge"
    assert svc.launch_type == "EC2"
    # No task-level size: the sum of the containers' reservations (memoryReservation, else memory).
    assert (svc.cpu, svc.memory) == (128 + 64, 256 + 128)
    assert [c.name for c in svc.containers] == ["nginx", "log-router"]
    pm = svc.containers[0].port_mappings[0]
    assert (pm.container_port, pm.host_port, pm.protocol) == (80, 0, "tcp")
    assert svc.containers[1].port_mappings == []


def test_task_definition_bare_with_task_level_size(tmp_path):
    svc = load_scenario(td_scenario(tmp_path, str(DATA / "taskdef_api.json"))).services[0]
    assert (svc.network_mode, svc.cpu, svc.memory) == ("awsvpc", 512, 1024)
    assert [(p.container_port, p.host_port, p.protocol)
            for p in svc.containers[0].port_mappings] == [(8080, 8080, "tcp"), (9090, 9090, "udp")]
    assert svc.placement_constraints[0].type == "memberOf"


def test_task_definition_in_a_subdirectory_next_to_the_scenario(tmp_path):
    (tmp_path / "taskdefs").mkdir()
    shutil.copy(DATA / "taskdef_api.json", tmp_path / "taskdefs" / "api.json")
    sc = load_scenario(td_scenario(tmp_path, "taskdefs/api.json"))
    assert sc.services[0].network_mode == "awsvpc"


def test_scenario_fields_win_over_the_task_definition(tmp_path):
    text = TD_SCENARIO.replace("{path}", str(DATA / "taskdef_api.json")) + "    cpu: 2048\n"
    svc = load_scenario(write(tmp_path, text)).services[0]
    assert (svc.cpu, svc.memory) == (2048, 1024)


@pytest.mark.parametrize("cpu, memory, expected", [
    ('"1 vCPU"', '"2 GB"', (1024, 2048)),
    ('"0.25 vcpu"', '"512"', (256, 512)),
    ("1024", "3072", (1024, 3072)),
])
def test_task_definition_sizes_with_units(tmp_path, cpu, memory, expected):
    (tmp_path / "t.json").write_text(
        f'{{"cpu": {cpu}, "memory": {memory}, "networkMode": "host",'
        ' "containerDefinitions": [{"name": "a"}]}')
    svc = load_scenario(td_scenario(tmp_path, "t.json")).services[0]
    assert (svc.cpu, svc.memory) == expected


def test_task_definition_missing_file(tmp_path, capsys):
    f = td_scenario(tmp_path, "nope.json")
    check_error(capsys, f, line=line_no(f.read_text(), "task_definition"),
                path="services[0].task_definition", contains=("nope.json': no such file",))


def test_task_definition_is_a_directory(tmp_path, capsys):
    (tmp_path / "defs").mkdir()
    f = td_scenario(tmp_path, "defs")
    check_error(capsys, f, line=line_no(f.read_text(), "task_definition"),
                path="services[0].task_definition", contains=("is a directory",))


def test_task_definition_invalid_json(tmp_path, capsys):
    bad = DATA / "taskdef_invalid.json"
    f = td_scenario(tmp_path, str(bad))
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert info.value.file == str(bad)
    assert info.value.line == line_no(bad.read_text(), '"containerPort": 80,}')
    rc, out, err = cli(capsys, "validate", str(f))
    assert rc == 2 and "Traceback" not in err
    assert f"{bad}:{info.value.line}: not valid JSON" in err
    assert "services[0]" in err


@pytest.mark.parametrize("doc, fragment", [
    ("[1, 2]", "containerDefinitions"),
    ('{"family": "x"}', "containerDefinitions"),
    ('{"containerDefinitions": {"name": "a"}}', "containerDefinitions: expected a list"),
    ('{"containerDefinitions": [5]}', "containerDefinitions: expected a list"),
    ('{"containerDefinitions": [{"name": "a", "memory": 64, "portMappings": '
     '{"containerPort": 80}}]}', "containerDefinitions[0].portMappings: expected a list"),
    ('{"containerDefinitions": [{"name": "a", "memory": 64}], "placementConstraints": '
     '["memberOf"]}', "placementConstraints: expected a list"),
    ('{"containerDefinitions": [], "cpu": "lots"}', "cpu 'lots' is not a number"),
    ('{"containerDefinitions": [], "memory": "-5"}', "memory '-5' is not a number"),
])
def test_task_definition_not_an_ecs_task_definition(tmp_path, capsys, doc, fragment):
    (tmp_path / "t.json").write_text(doc)
    f = td_scenario(tmp_path, "t.json")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert info.value.file == str(tmp_path / "t.json")
    rc, out, err = cli(capsys, "validate", str(f))
    assert rc == 2 and "Traceback" not in err
    assert err.startswith(f"ecsnetsim: error: {tmp_path / 't.json'}: ")
    assert fragment in err


def test_task_definition_that_aws_rejects_names_the_task_definition(tmp_path, capsys):
    (tmp_path / "t.json").write_text(json.dumps({
        "networkMode": "host",
        "containerDefinitions": [{"name": "a", "memory": 128, "portMappings": [
            {"containerPort": 80, "hostPort": 8080}]}]}))
    f = td_scenario(tmp_path, "t.json")
    check_error(capsys, f, line=line_no(f.read_text(), "task_definition"),
                path="services[0].containers[0].port_mappings[0].host_port",
                contains=("from task definition", "t.json", "networkMode=host"))


def test_task_definition_with_an_unknown_network_mode(tmp_path, capsys):
    (tmp_path / "t.json").write_text(
        '{"networkMode": "nat", "containerDefinitions": [{"name": "a", "memory": 64}]}')
    f = td_scenario(tmp_path, "t.json")
    check_error(capsys, f, line=line_no(f.read_text(), "task_definition"),
                path="services[0].network_mode", contains=("from task definition", "'nat'"))


def test_containers_and_task_definition_together(tmp_path, capsys):
    text = TD_SCENARIO.replace("{path}", str(DATA / "taskdef_api.json")) + (
        "    containers: [{name: a}]\n")
    check_text(tmp_path, capsys, text, line_of="containers:", path="services[0].containers",
               contains=("either containers or task_definition",))


# ---- the public API: dicts and errors without a file -----------------------------------------

def test_dict_scenario_errors_have_a_path_and_no_file():
    with pytest.raises(ScenarioError) as info:
        load_scenario({"version": 1, "name": "t",
                       "vpc": {"subnets": [{"name": "a", "cidr": "10.0.0.0/24"}]},
                       "services": [{"name": "s", "desried_count": 1}]})
    err = info.value
    assert (err.file, err.line, err.path) == (None, None, "services[0].desried_count")
    assert str(err).startswith("services[0].desried_count: unknown key")


def test_loaded_scenario_round_trips_through_the_api(tmp_path):
    sc = load_scenario(write(tmp_path, BASE))
    again = load_scenario(sc.model_dump(by_alias=True, exclude_none=True))
    assert again.model_dump() == sc.model_dump()
