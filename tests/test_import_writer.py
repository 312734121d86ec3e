"""The commented YAML writer reads back as exactly the data it was given, whatever the
strings (quotes, colons, commas in flow style, YAML's yes/no, numbers as text), and the
comments cannot change the data."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ecsnetsim.importers.writer import Comments, dump, write_atomically

TRICKY = ["yes", "no", "on", "null", "~", "1:30", "0x1f", "010", "1e3", "a: b", "a, b",
          "[x]", "{y}", "#not a comment", "- dash", "'quoted'", '"double"', "tab\there",
          "new\nline", "", " lead", "trail ", "sg:alb", "nat:nat-a", "32768-60999",
          "attribute:ecs.instance-type =~ c5.*", "é ünïcode", "*alias", "&anchor", "!tag",
          "%percent", "@at", "`tick`", "|pipe", ">fold"]


def test_tricky_strings_read_back():
    data = {"version": 1, "items": [{"name": s, "n": i, "list": [s, i]}
                                    for i, s in enumerate(TRICKY)],
            "flat": TRICKY, "nested": {s or "empty": s for s in TRICKY}}
    comments = Comments()
    comments.add(("items", 0), "a comment\nover two lines # with a hash")
    comments.end(("items", 1, "name"), "an end comment: with colon")
    text = dump(data, comments, ["header: line", "second\nheader"])
    assert yaml.safe_load(text) == data
    assert "# a comment" in text and "# over two lines # with a hash" in text
    assert text.startswith("# header: line\n# second\n# header\n")


scalars = st.one_of(st.text(max_size=20), st.integers(-10**6, 10**6), st.booleans(),
                    st.none())
leaves = st.dictionaries(st.text(min_size=1, max_size=8), scalars, max_size=4)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(min_size=1, max_size=10),
                       st.one_of(scalars, leaves, st.lists(leaves, max_size=3),
                                 st.lists(scalars, max_size=4)), min_size=1, max_size=6))
def test_any_data_reads_back(data):
    comments = Comments()
    for key in data:
        comments.add((key,), f"about {key}")
    assert yaml.safe_load(dump(data, comments, ["h"])) == data


def test_write_is_atomic(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("old\n")
    write_atomically(path, "new\n")
    assert path.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
