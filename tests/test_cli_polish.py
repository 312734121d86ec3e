"""Command line: validate checks every file, plot takes results.json itself,
instance-types sorts by size and reads a trailing dot as the family, every subcommand's
help has a description and an example."""

from __future__ import annotations

import pytest
from conftest import SCENARIOS

from ecsnetsim.cli import build_parser, main

BAD = "version: 1\nname: x\nvpc: {subnets: []}\nservices: [{name: s, desried_count: 1}]\n"


def cli(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_validate_checks_every_file_and_prints_each_error(tmp_path, capsys):
    bad1, bad2 = tmp_path / "bad1.yaml", tmp_path / "bad2.yaml"
    bad1.write_text(BAD)
    bad2.write_text(BAD)
    good = str(SCENARIOS / "scale-out.yaml")
    rc, out, err = cli(capsys, "validate", str(bad1), good, str(bad2))
    assert rc == 2
    assert f"{good}: ok" in out
    assert f"{bad1}" in err and f"{bad2}" in err
    assert err.count("ecsnetsim: error:") == 2
    assert "2 of 3 files invalid" in err
    assert "Traceback" not in err


def test_validate_all_good_exits_0(capsys):
    files = [str(SCENARIOS / n) for n in ("scale-out.yaml", "compare-modes.yaml")]
    rc, out, err = cli(capsys, "validate", *files)
    assert (rc, err) == (0, "") and out.count(": ok") == 2


def test_plot_accepts_results_json_itself(tmp_path, capsys):
    out_dir = tmp_path / "res"
    assert main(["run", str(SCENARIOS / "scale-out.yaml"), "-o", str(out_dir), "--quiet",
                 "--no-plots"]) == 0
    figs = tmp_path / "figs"
    rc, out, err = cli(capsys, "plot", str(out_dir / "results.json"), "-o", str(figs))
    assert rc == 0, err
    assert any(p.suffix == ".png" for p in figs.iterdir())


def _types(out: str) -> list[str]:
    lines = out.splitlines()
    return [ln.split()[0] for ln in lines[1:lines.index("")]]


def test_instance_types_sort_naturally(capsys):
    rc, out, _ = cli(capsys, "instance-types", "c5")
    assert rc == 0
    assert _types(out) == ["c5.large", "c5.xlarge", "c5.2xlarge", "c5.4xlarge", "c5.9xlarge",
                           "c5.12xlarge", "c5.18xlarge", "c5.24xlarge", "c5.metal"]


@pytest.mark.parametrize("pattern", ["m5.", "m5", "m5.*"])
def test_instance_types_trailing_dot_is_the_family(capsys, pattern):
    rc, out, _ = cli(capsys, "instance-types", pattern)
    names = _types(out)
    assert rc == 0 and "m5.large" in names and all(n.startswith("m5.") for n in names)


def test_instance_types_footer_is_short(capsys):
    rc, out, _ = cli(capsys, "instance-types", "c5.large")
    footer = out.rstrip().splitlines()[-1]
    assert rc == 0 and footer.startswith("1 type(s)") and len(footer) <= 100


def test_every_subcommand_help_has_a_description_and_an_example(capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {"run", "validate", "plot", "plan", "instance-types", "modes",
                                "schema", "import"}
    for name in sub.choices:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        text = capsys.readouterr().out
        assert "examples:" in text and f"ecsnetsim {name}" in text.split("examples:")[1]
        description = text.split("\n\n")[1]
        assert len(description.split()) >= 8, (name, description)
