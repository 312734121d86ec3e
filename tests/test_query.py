"""Tests for the Amazon ECS cluster query language (ecsnetsim.model.query)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecsnetsim.model.query import (
    MAX_EXPRESSION_LENGTH,
    And,
    Condition,
    Expression,
    InstanceView,
    Not,
    Or,
    QueryError,
    matches,
    parse,
)

JUNE_2018 = datetime(2018, 6, 18, 22, 28, 28, tzinfo=UTC).timestamp()


def view(
    instance_id: str = "i-abcd1234",
    *,
    instance_type: str = "t2.micro",
    zone: str = "us-east-1a",
    groups: tuple[str, ...] = (),
    extra: dict[str, str] | None = None,
    **kwargs: object,
) -> InstanceView:
    attributes = {"ecs.instance-type": instance_type, "ecs.availability-zone": zone}
    attributes.update(extra or {})
    kwargs.setdefault("running_tasks_count", len(groups))
    return InstanceView(
        ec2_instance_id=instance_id,
        attributes=attributes,
        task_groups=frozenset(groups),
        **kwargs,  # type: ignore[arg-type]
    )


WEB = view(
    "i-abcd1234",
    instance_type="t2.micro",
    zone="us-east-1a",
    groups=("service:production",),
    extra={"stack": "prod", "rack": "12"},
)
GPU = view("i-wxyx7890", instance_type="g2.2xlarge", zone="us-east-1d", groups=("database",))
IDLE = view("i-00000000", instance_type="c5.large", zone="us-east-1b")


def check(expression: str, instance: InstanceView) -> bool:
    """Evaluate, and check that the normalized form parses back and agrees."""
    parsed = parse(expression)
    normalized = parse(str(parsed))
    assert normalized == parsed, (expression, str(parsed))
    assert str(normalized) == str(parsed)
    result = parsed.evaluate(instance)
    assert normalized.evaluate(instance) is result
    assert matches(expression, instance) is result
    return result


def error(expression: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse(expression)
    exc = info.value
    assert isinstance(exc.position, int)
    assert 0 <= exc.position <= len(expression)
    assert exc.expression == expression
    return exc


# ------------------------------------------------------------------ documented examples


@pytest.mark.parametrize(
    ("expression", "web", "gpu", "idle"),
    [
        ("not(task:group == database)", True, False, True),
        (
            "attribute:ecs.instance-type =~ t2.* or "
            "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            True,
            False,
            True,
        ),
        ("task:group == service:production", True, False, False),
        ("runningTasksCount == 1", True, True, False),
        (
            "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
            False,
            False,
            False,
        ),
        ("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", True, True, False),
        ("attribute:stack exists", True, False, False),
        ("attribute:ecs.instance-type == t2.micro", True, False, False),
    ],
)
def test_documented_examples(expression: str, web: bool, gpu: bool, idle: bool) -> None:
    assert check(expression, WEB) is web
    assert check(expression, GPU) is gpu
    assert check(expression, IDLE) is idle


def test_g2_outside_us_east_1d() -> None:
    expression = (
        "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d"
    )
    assert check(expression, view(instance_type="g2.8xlarge", zone="us-east-1c"))
    assert not check(expression, view(instance_type="g2.8xlarge", zone="us-east-1d"))


# ------------------------------------------------------------------ operators and aliases


@pytest.mark.parametrize(
    ("operator", "alias"),
    [
        ("==", "equals"),
        ("!=", "not_equals"),
        (">", "greater_than"),
        (">=", "greater_than_equal"),
        ("<", "less_than"),
        ("<=", "less_than_equal"),
        ("=~", "matches"),
        ("!~", "not_matches"),
    ],
)
@pytest.mark.parametrize("argument", ["t2.micro", "t2.*", "c5.large", "m5.large", "a"])
def test_binary_operator_aliases(operator: str, alias: str, argument: str) -> None:
    symbolic = parse(f"attribute:ecs.instance-type {operator} {argument}")
    for spelling in (alias, alias.upper(), alias.title()):
        worded = parse(f"attribute:ecs.instance-type {spelling} {argument}")
        assert worded == symbolic
        assert str(worded) == str(symbolic)
        for instance in (WEB, GPU, IDLE):
            assert worded.evaluate(instance) is symbolic.evaluate(instance)


@pytest.mark.parametrize(
    ("symbol", "aliases"),
    [
        ("exists", ["EXISTS", "Exists"]),
        ("!exists", ["not_exists", "NOT_EXISTS", "!EXISTS"]),
    ],
)
def test_unary_operator_aliases(symbol: str, aliases: list[str]) -> None:
    expected = parse(f"attribute:stack {symbol}")
    assert expected == Condition("attribute:stack", symbol)
    for alias in aliases:
        assert parse(f"attribute:stack {alias}") == expected


@pytest.mark.parametrize(
    ("symbol", "aliases"), [("in", ["IN", "In"]), ("!in", ["not_in", "NOT_IN", "!IN"])]
)
def test_list_operator_aliases(symbol: str, aliases: list[str]) -> None:
    expected = parse(f"attribute:stack {symbol} [prod, dev]")
    assert expected == Condition("attribute:stack", symbol, ("prod", "dev"))
    for alias in aliases:
        assert parse(f"attribute:stack {alias} [prod, dev]") == expected
        assert parse(f"attribute:stack {alias}[prod,dev]") == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("attribute:ecs.instance-type == t2.micro", True),
        ("attribute:ecs.instance-type == t2.small", False),
        ("attribute:ecs.instance-type == T2.MICRO", False),
        ("attribute:ecs.instance-type != t2.micro", False),
        ("attribute:ecs.instance-type != t2.small", True),
        ("attribute:ecs.instance-type > t2.small", False),
        ("attribute:ecs.instance-type > t2.large", True),
        ("attribute:ecs.instance-type >= t2.micro", True),
        ("attribute:ecs.instance-type < t3", True),
        ("attribute:ecs.instance-type <= t2.micro", True),
        ("attribute:ecs.instance-type <= t2.a", False),
        ("attribute:ecs.instance-type exists", True),
        ("attribute:ecs.instance-type !exists", False),
        ("attribute:ecs.instance-type in [t2.micro, t2.small]", True),
        ("attribute:ecs.instance-type in [t2.small]", False),
        ("attribute:ecs.instance-type in []", False),
        ("attribute:ecs.instance-type !in [t2.micro, t2.small]", False),
        ("attribute:ecs.instance-type !in [c5.large]", True),
        ("attribute:ecs.instance-type !in []", True),
        ("attribute:ecs.instance-type =~ t2.*", True),
        ("attribute:ecs.instance-type =~ t2", False),
        ("attribute:ecs.instance-type =~ micro", False),
        ("attribute:ecs.instance-type =~ .*micro", True),
        ("attribute:ecs.instance-type =~ (t2|t3)\\.(micro|small)", True),
        ("attribute:ecs.instance-type =~ [a-t][0-9]\\..+", True),
        ("attribute:ecs.instance-type !~ t2.*", False),
        ("attribute:ecs.instance-type !~ c5.*", True),
        ("ec2InstanceId == i-abcd1234", True),
        ("ec2InstanceId != i-abcd1234", False),
        ("ec2InstanceId =~ i-[0-9a-f]{8}", True),
        ("ec2InstanceId !~ i-[0-9a-f]{8}", False),
        ("ec2InstanceId in [i-1, i-abcd1234]", True),
        ("ec2InstanceId !in [i-1, i-abcd1234]", False),
        ("ec2InstanceId exists", True),
        ("ec2InstanceId !exists", False),
    ],
)
def test_every_operator(expression: str, expected: bool) -> None:
    assert check(expression, WEB) is expected


def test_regex_has_whole_value_semantics() -> None:
    instance = view(instance_type="xt2.micro")
    assert not check("attribute:ecs.instance-type =~ t2.*", instance)
    assert check("attribute:ecs.instance-type =~ .*t2.*", instance)
    assert check("attribute:ecs.instance-type !~ t2.*", instance)


def test_java_regex_forms_are_translated() -> None:
    assert check("attribute:ecs.instance-type =~ '\\Qt2.micro\\E'", WEB)
    assert not check("attribute:ecs.instance-type =~ '\\Qt2.\\E.*'", GPU)
    assert check("attribute:ecs.instance-type =~ 't2\\.micro\\z'", WEB)
    assert check("attribute:ecs.instance-type =~ '(?<family>[a-z]+)\\d\\..*'", WEB)
    assert check("attribute:rack =~ '(?<d>\\d)\\k<d>'", view(extra={"rack": "11"}))
    assert not check("attribute:rack =~ '(?<d>\\d)\\k<d>'", WEB)


def test_regex_bare_word_stops_at_unopened_parenthesis() -> None:
    parsed = parse("not(attribute:ecs.instance-type =~ (t2|t3)\\..*)")
    assert parsed == Not(Condition("attribute:ecs.instance-type", "=~", "(t2|t3)\\..*"))
    assert not parsed.evaluate(WEB)
    assert parsed.evaluate(GPU)


def test_regex_bare_word_stops_at_connectives() -> None:
    parsed = parse("attribute:ecs.instance-type =~ t2.*&&attribute:stack exists")
    assert parsed == And(
        (
            Condition("attribute:ecs.instance-type", "=~", "t2.*"),
            Condition("attribute:stack", "exists"),
        )
    )
    # a single | is regex alternation, not a connective
    parsed = parse("attribute:ecs.instance-type =~ t2.*|g2.*")
    assert parsed == Condition("attribute:ecs.instance-type", "=~", "t2.*|g2.*")
    assert parsed.evaluate(WEB) and parsed.evaluate(GPU) and not parsed.evaluate(IDLE)


def test_regex_character_class_may_hold_parenthesis() -> None:
    parsed = parse("(attribute:stack =~ [)(]x)")
    assert parsed == Condition("attribute:stack", "=~", "[)(]x")
    assert parsed.evaluate(view(extra={"stack": ")x"}))


# ------------------------------------------------------------------ compound expressions


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # and binds tighter than or
        ("ec2InstanceId == x or ec2InstanceId == i-abcd1234 and attribute:stack == prod", True),
        ("ec2InstanceId == x or ec2InstanceId == i-abcd1234 and attribute:stack == dev", False),
        ("(ec2InstanceId == x or ec2InstanceId == i-abcd1234) and attribute:stack == dev", False),
        ("ec2InstanceId == i-abcd1234 or ec2InstanceId == x and attribute:stack == dev", True),
        ("(ec2InstanceId == i-abcd1234 or ec2InstanceId == x) and attribute:stack == dev", False),
        # not binds tighter than and
        ("not attribute:stack == dev and attribute:stack == prod", True),
        ("not (attribute:stack == prod and attribute:stack == dev)", True),
        ("not attribute:stack == prod and attribute:stack == dev", False),
        ("! attribute:stack == prod || attribute:stack == prod", True),
        ("!(attribute:stack == prod || attribute:stack == prod)", False),
        ("not not attribute:stack == prod", True),
        ("!!attribute:stack == prod", True),
        ("((attribute:stack == prod))", True),
        ("attribute:stack == prod && (runningTasksCount > 5 || runningTasksCount < 2)", True),
        ("attribute:stack == prod AND runningTasksCount == 1 OR NOT attribute:stack exists", True),
        ("attribute:stack==prod&&runningTasksCount==1", True),
        ("attribute:stack == prod and(runningTasksCount == 0 or(task:group exists))", True),
    ],
)
def test_precedence_and_parentheses(expression: str, expected: bool) -> None:
    assert check(expression, WEB) is expected


def test_structure_of_compound_expressions() -> None:
    a = Condition("attribute:a", "exists")
    b = Condition("attribute:b", "exists")
    c = Condition("attribute:c", "exists")
    assert parse("attribute:a exists or attribute:b exists and attribute:c exists") == Or(
        (a, And((b, c)))
    )
    assert parse("(attribute:a exists or attribute:b exists) and attribute:c exists") == And(
        (Or((a, b)), c)
    )
    assert parse("not attribute:a exists and attribute:b exists") == And((Not(a), b))
    # chains are flattened, redundant parentheses dropped
    assert parse("attribute:a exists and (attribute:b exists and attribute:c exists)") == And(
        (a, b, c)
    )
    assert parse("attribute:a exists || attribute:b exists OR attribute:c exists") == Or((a, b, c))
    assert isinstance(parse("(((attribute:a exists)))"), Condition)


@pytest.mark.parametrize(
    ("expression", "normalized"),
    [
        ("attribute:stack EQUALS prod", "attribute:stack == prod"),
        ("NOT(task:group == database)", "not(task:group == database)"),
        (
            "!attribute:a exists&&attribute:b !exists",
            "not(attribute:a exists) and attribute:b !exists",
        ),
        (
            "(attribute:a exists || attribute:b exists) && attribute:c not_exists",
            "(attribute:a exists or attribute:b exists) and attribute:c !exists",
        ),
        (
            "attribute:a exists or (attribute:b exists and attribute:c exists)",
            "attribute:a exists or attribute:b exists and attribute:c exists",
        ),
        (
            "ec2InstanceId in ['i-abcd1234', \"i-wxyx7890\"]",
            "ec2InstanceId in [i-abcd1234, i-wxyx7890]",
        ),
        ("attribute:stack == 'two words'", "attribute:stack == 'two words'"),
        ('attribute:stack == "it\'s"', 'attribute:stack == "it\'s"'),
        ("attribute:stack == 'and'", "attribute:stack == 'and'"),
        ("attribute:stack == ''", "attribute:stack == ''"),
        ("attribute:stack == 'a=b'", "attribute:stack == 'a=b'"),
        ("attribute:stack =~ 'a b.*'", "attribute:stack =~ 'a b.*'"),
        ("attribute:stack =~ '(a|b)'", "attribute:stack =~ (a|b)"),
        ("runningtaskscount<=3", "runningTasksCount <= 3"),
        ("Task:Group in [service:web]", "task:group in [service:web]"),
    ],
)
def test_normalized_form(expression: str, normalized: str) -> None:
    parsed = parse(expression)
    assert str(parsed) == normalized
    assert parse(normalized) == parsed


def test_expressions_are_hashable_values() -> None:
    first = parse("attribute:stack in [a, b] and not(task:group == database)")
    second = parse("attribute:stack IN ['a', 'b'] && !(task:group equals database)")
    assert first == second
    assert hash(first) == hash(second)
    assert isinstance(first, Expression)


# ------------------------------------------------------------------ missing attributes


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("attribute:missing exists", False),
        ("attribute:missing !exists", True),
        ("attribute:missing == x", False),
        ("attribute:missing != x", True),
        ("attribute:missing > x", False),
        ("attribute:missing >= x", False),
        ("attribute:missing < x", False),
        ("attribute:missing <= x", False),
        ("attribute:missing in [x, y]", False),
        ("attribute:missing !in [x, y]", True),
        ("attribute:missing =~ .*", False),
        ("attribute:missing !~ .*", True),
        ("not(attribute:missing == x)", True),
        ("attribute:missing exists and attribute:missing != x", False),
    ],
)
def test_missing_attribute(expression: str, expected: bool) -> None:
    assert check(expression, WEB) is expected


def test_empty_attribute_value_is_present() -> None:
    instance = view(extra={"stack": ""})
    assert check("attribute:stack exists", instance)
    assert check("attribute:stack == ''", instance)
    assert check("attribute:stack =~ .*", instance)
    assert not check("attribute:stack != ''", instance)


def test_attribute_names_are_case_sensitive() -> None:
    instance = view(extra={"Stack": "prod"})
    assert check("attribute:Stack == prod", instance)
    assert not check("attribute:stack exists", instance)
    assert check("ATTRIBUTE:Stack == prod", instance)


def test_attribute_names_with_all_allowed_characters() -> None:
    instance = view(extra={"com.example/team_name-2": "blue"})
    assert check("attribute:com.example/team_name-2 == blue", instance)


# ------------------------------------------------------------------ task:group


@pytest.mark.parametrize(
    ("expression", "groups", "expected"),
    [
        ("task:group == service:web", ("service:web", "family:batch"), True),
        ("task:group == service:web", ("family:batch",), False),
        ("task:group == service:web", (), False),
        ("task:group != service:web", ("service:web", "family:batch"), False),
        ("task:group != service:web", ("family:batch",), True),
        ("task:group != service:web", (), True),
        ("task:group in [service:web, service:api]", ("service:api",), True),
        ("task:group in [service:web, service:api]", ("family:batch",), False),
        ("task:group in [service:web, service:api]", (), False),
        ("task:group !in [service:web, service:api]", ("family:batch", "service:api"), False),
        ("task:group !in [service:web, service:api]", ("family:batch",), True),
        ("task:group !in [service:web, service:api]", (), True),
        ("task:group exists", ("family:batch",), True),
        ("task:group exists", (), False),
        ("task:group !exists", ("family:batch",), False),
        ("task:group !exists", (), True),
        ("task:group =~ service:.*", ("family:batch", "service:web"), True),
        ("task:group =~ service:.*", ("family:batch",), False),
        ("task:group !~ service:.*", ("family:batch", "service:web"), False),
        ("task:group !~ service:.*", ("family:batch",), True),
        ("not(task:group == service:web)", ("service:web",), False),
    ],
)
def test_task_group(expression: str, groups: tuple[str, ...], expected: bool) -> None:
    assert check(expression, view(groups=groups)) is expected


# ------------------------------------------------------------------ numbers, dates, versions


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("runningTasksCount == 10", True),
        ("runningTasksCount == 10.0", True),
        ("runningTasksCount != 10", False),
        ("runningTasksCount > 9", True),  # lexicographically "10" < "9"
        ("runningTasksCount > 10", False),
        ("runningTasksCount >= 10", True),
        ("runningTasksCount < 100", True),
        ("runningTasksCount <= 9", False),
        ("runningTasksCount in [1, 10]", True),
        ("runningTasksCount !in [1, 2]", True),
        ("runningTasksCount =~ 1[0-9]", True),
        ("attribute:rack > 9", True),  # numeric attribute values compare as numbers
        ("attribute:rack < 100", True),
        ("attribute:rack >= 12.0", True),
        ("attribute:rack == 12", True),
        ("attribute:rack == 12.0", False),  # equality on attributes is exact text
        ("attribute:rack > abc", False),  # mixed: string comparison, "12" < "abc"
        ("attribute:stack > 9", True),  # "prod" > "9"
    ],
)
def test_numeric_comparison(expression: str, expected: bool) -> None:
    instance = view(extra={"rack": "12", "stack": "prod"}, running_tasks_count=10)
    assert check(expression, instance) is expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (f"registeredAt == {JUNE_2018:.0f}", True),
        (f"registeredAt > {JUNE_2018 - 1:.0f}", True),
        (f"registeredAt < {JUNE_2018 - 1:.0f}", False),
        ("registeredAt == 2018-06-18T22:28:28Z", True),
        ("registeredAt == 2018-06-18T22:28:28+00:00", True),
        ("registeredAt == '2018-06-18T22:28:28'", True),
        ("registeredAt > 2018-06-18", True),
        ("registeredAt >= 2018-06-19", False),
        ("registeredAt < 2018-06-19T00:00:00+02:00", False),
        ("registeredAt <= 2018-06-18T22:28:28Z", True),
        ("registeredAt != 2018-06-18T22:28:28Z", False),
    ],
)
def test_registered_at(expression: str, expected: bool) -> None:
    instance = InstanceView("i-1", {}, registered_at=JUNE_2018)
    assert check(expression, instance) is expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("agentVersion == 1.105.1", True),
        ("agentVersion == 1.105.1.0", True),
        ("agentVersion > 1.9", True),  # as versions, not strings
        ("agentVersion > 1.9.0", True),
        ("agentVersion >= 1.105.1", True),
        ("agentVersion < 1.105.2", True),
        ("agentVersion < 1.20", False),
        ("agentVersion <= 2", True),
        ("agentVersion =~ 1\\.105\\..*", True),
        ("agentVersion != 1.105.1", False),
        ("agentConnected == true", True),
        ("agentConnected == TRUE", True),
        ("agentConnected != true", False),
        ("agentConnected == false", False),
        ("agentConnected in [true]", True),
        ("agentConnected !in [false]", True),
        ("agentConnected =~ t.*", True),
        ("agentConnected !~ t.*", False),
    ],
)
def test_agent_subjects(expression: str, expected: bool) -> None:
    assert check(expression, InstanceView("i-1", {}, agent_version="1.105.1")) is expected


def test_disconnected_agent() -> None:
    instance = InstanceView("i-1", {}, agent_connected=False)
    assert check("agentConnected == false", instance)
    assert not check("agentConnected equals true", instance)


# ------------------------------------------------------------------ quoting


@pytest.mark.parametrize(
    ("expression", "argument"),
    [
        ("attribute:stack == 'prod'", "prod"),
        ('attribute:stack == "prod"', "prod"),
        ("attribute:stack == 'two words'", "two words"),
        ('attribute:stack == "it\'s"', "it's"),
        ("attribute:stack == 'say \"hi\"'", 'say "hi"'),
        ("attribute:stack == 'a&&b'", "a&&b"),
        ("attribute:stack == '(x)'", "(x)"),
        ("attribute:stack == 'or'", "or"),
        ("attribute:stack == ''", ""),
        ("attribute:stack == service:production/v1.2_x-y*", "service:production/v1.2_x-y*"),
        ("attribute:stack =~ '\\d+'", "\\d+"),
        ("attribute:stack =~ \\d+", "\\d+"),
    ],
)
def test_quoted_values(expression: str, argument: str) -> None:
    parsed = parse(expression)
    assert isinstance(parsed, Condition)
    assert parsed.argument == argument
    assert parse(str(parsed)) == parsed


def test_quoted_values_in_lists() -> None:
    parsed = parse("attribute:stack in ['a b', \"c,d\", e, '']")
    assert parsed == Condition("attribute:stack", "in", ("a b", "c,d", "e", ""))
    assert parsed.evaluate(view(extra={"stack": "c,d"}))
    assert parse(str(parsed)) == parsed


def test_whitespace_is_flexible() -> None:
    expected = parse("attribute:stack in [a, b] and not(attribute:x exists)")
    assert parse("  attribute:stack\tin\n[ a ,b ]   and\nnot ( attribute:x exists )  ") == expected


# ------------------------------------------------------------------ matches()


def test_matches_caches_parsed_expressions() -> None:
    from ecsnetsim.model import query

    query._parse_cached.cache_clear()
    assert matches("attribute:stack == prod", WEB)
    assert not matches("attribute:stack == prod", GPU)
    info = query._parse_cached.cache_info()
    assert info.misses == 1 and info.hits == 1


def test_matches_accepts_parsed_expression() -> None:
    assert matches(parse("task:group == database"), GPU)


def test_matches_raises_for_malformed_expression() -> None:
    with pytest.raises(QueryError):
        matches("attribute:stack ==", WEB)


# ------------------------------------------------------------------ malformed expressions


@pytest.mark.parametrize(
    ("expression", "position", "fragments"),
    [
        ("", 0, ["empty expression", "expected a condition"]),
        ("   ", 0, ["empty expression"]),
        (
            "attribute:ecs.instance-type",
            27,
            [
                "expected an operator (==, !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~) "
                "after 'attribute:ecs.instance-type' at position 27",
                "ends there",
            ],
        ),
        (
            "attribute:ecs.instance-type t2.micro",
            28,
            ["expected an operator (", "at position 28", "found 't2.micro'"],
        ),
        ("attribute:stack = prod", 16, ["expected an operator", "found '='"]),
        ("attribute:stack equal prod", 16, ["expected an operator", "found 'equal'"]),
        ("attribute:stack !inn [a]", 16, ["expected an operator", "found '!inn'"]),
        ("attribute:stack ! exists", 16, ["expected an operator", "found '!'"]),
        (
            "atribute:stack == prod",
            0,
            [
                "unknown subject 'atribute:stack'",
                "expected one of agentConnected, agentVersion, attribute:<name>, "
                "ec2InstanceId, registeredAt, runningTasksCount, task:group",
                "did you mean 'attribute:stack'?",
            ],
        ),
        ("runingTasksCount > 1", 0, ["unknown subject", "did you mean 'runningTasksCount'?"]),
        ("stack == prod", 0, ["unknown subject 'stack'"]),
        ("task:groups == x", 0, ["unknown subject 'task:groups'"]),
        ("attribute: == x", 10, ["missing attribute name"]),
        ("attribute:st@ck == x", 12, ["invalid attribute name 'st@ck'", "letters, digits"]),
        ("attribute:" + "a" * 129 + " exists", 10, ["longer than 128 characters"]),
        ("attribute:stack ==", 18, ["expected a value after '=='", "ends there"]),
        ("attribute:stack == )", 19, ["expected a value after '=='", "found ')'"]),
        ("attribute:stack == and", 19, ["found the keyword 'and'", "quotes"]),
        ("attribute:stack == OR attribute:x exists", 19, ["found the keyword 'OR'"]),
        ("attribute:stack =~", 18, ["expected a value after '=~'"]),
        ("attribute:stack == 'prod", 19, ["unterminated quoted value", "position 19"]),
        ('attribute:stack in ["a, b]', 20, ["unterminated quoted value"]),
        ("attribute:stack in prod", 19, ["expected a list such as [a, b] after 'in'"]),
        ("attribute:stack !in", 19, ["expected a list such as [a, b] after '!in'"]),
        ("attribute:stack in [a, b", 19, ["unterminated list", "'[' at position 19"]),
        ("attribute:stack in [a,", 22, ["expected a value after ','", "ends there"]),
        ("attribute:stack in [a,]", 22, ["expected a value after ','", "found ']'"]),
        ("attribute:stack in [,a]", 20, ["expected a value after '['", "found ','"]),
        ("attribute:stack in [a b]", 22, ["expected ',' or ']'", "found 'b'"]),
        ("attribute:stack in [a] b", 23, ["expected 'and', 'or' or the end", "found 'b'"]),
        ("attribute:stack == two words", 23, ["found 'words'", "quote values that contain spaces"]),
        ("attribute:stack == a=b", 20, ["found '='", "quote values that contain '='"]),
        ("attribute:stack exists prod", 23, ["found 'prod'", "'exists' takes no argument"]),
        ("attribute:stack exists & attribute:x exists", 23, ["found '&'", "'&&' or 'and'"]),
        ("attribute:stack exists | attribute:x exists", 23, ["found '|'", "'||' or 'or'"]),
        ("(attribute:stack exists", 0, ["unbalanced parenthesis", "'(' at position 0"]),
        ("((attribute:stack exists)", 0, ["unbalanced parenthesis", "never closed"]),
        ("attribute:stack exists)", 22, ["unbalanced parenthesis", "no matching '('"]),
        (")attribute:stack exists", 0, ["unbalanced parenthesis", "no matching '('"]),
        ("(attribute:stack exists))", 24, ["unbalanced parenthesis"]),
        ("(attribute:stack exists x)", 24, ["expected 'and', 'or', ')' or the end"]),
        ("()", 1, ["expected a condition after '('", "found ')'"]),
        ("not", 3, ["expected a condition after 'not'", "ends there"]),
        ("!", 1, ["expected a condition after '!'"]),
        ("not()", 4, ["expected a condition after '('"]),
        ("attribute:stack exists and", 26, ["expected a condition after 'and'"]),
        ("attribute:stack exists ||", 25, ["expected a condition after '||'"]),
        ("attribute:stack exists and or attribute:x exists", 27, ["condition before 'or'"]),
        ("and attribute:stack exists", 0, ["expected a condition before 'and'"]),
        ("&& attribute:stack exists", 0, ["expected a condition before '&&'"]),
        ("== prod", 0, ["expected a condition (subject operator [argument])", "found '=='"]),
        (
            "attribute:stack =~ t2.*(",
            19,
            ["invalid regular expression 't2.*(' at position 19", "missing )"],
        ),
        ("attribute:stack !~ '['", 19, ["invalid regular expression"]),
        ("attribute:stack =~ *x", 19, ["invalid regular expression '*x'", "nothing to repeat"]),
        ("task:group > service:web", 11, ["operator '>' cannot be used with task:group"]),
        ("agentConnected <= true", 15, ["cannot be used with agentConnected"]),
        ("agentConnected == yes", 18, ["expected true or false", "found 'yes'"]),
        ("runningTasksCount > many", 20, ["expected a number after 'runningTasksCount >'"]),
        ("runningTasksCount in [1, x]", 25, ["expected a number", "found 'x'"]),
        ("registeredAt > yesterday", 15, ["expected a date such as", "found 'yesterday'"]),
        ("registeredAt < 2018-13-45", 15, ["expected a date such as"]),
        ("(" * 150 + "attribute:stack exists" + ")" * 150, 100, ["nested too deeply"]),
        ("not " * 150 + "attribute:stack exists", 400, ["nested too deeply"]),
        (
            "attribute:stack in [" + ", ".join(["abcdefghi"] * 200) + "]",
            MAX_EXPRESSION_LENGTH,
            ["limit is 2000"],
        ),
    ],
)
def test_malformed_expressions(expression: str, position: int, fragments: list[str]) -> None:
    exc = error(expression)
    message = str(exc)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert exc.position == position, message
    if expression.strip():
        assert f"position {position}" in message or "never closed" in message, message
    assert exc.excerpt().splitlines()[1] == " " * position + "^"


def test_lenient_regex_syntax_is_accepted() -> None:
    assert check("attribute:stack =~ a{2", view(extra={"stack": "a{2"}))


def test_query_error_is_a_value_error() -> None:
    assert issubclass(QueryError, ValueError)


def test_non_string_expression_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse(42)  # type: ignore[arg-type]


def test_conditions_built_directly_are_validated() -> None:
    with pytest.raises(QueryError, match="unknown subject"):
        Condition("stack", "==", "x")
    with pytest.raises(QueryError, match="unknown operator"):
        Condition("attribute:stack", "===", "x")
    with pytest.raises(QueryError, match="list"):
        Condition("attribute:stack", "in", "x")
    with pytest.raises(QueryError, match="invalid regular expression"):
        Condition("attribute:stack", "=~", "(")
    assert Condition("attribute:stack", "in", ("a",)).evaluate(view(extra={"stack": "a"}))
