"""The README's quickstart prints what the README shows, and its Python snippet runs."""

from __future__ import annotations

import re

from conftest import ROOT

import ecsnetsim
from ecsnetsim.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block(opening: str) -> str:
    """The code block that starts with ``opening`` (its first line)."""
    m = re.search(r"```\w*\n(" + re.escape(opening) + r".*?)```", README, re.S)
    assert m, f"README has no code block starting with {opening!r}"
    return m.group(1)


def test_quickstart_prints_what_the_readme_shows(tmp_path, monkeypatch, capsys):
    block = _block("$ ecsnetsim run scenarios/awsvpc-eni-density.yaml")
    shown = block.splitlines()[1:]
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    assert main(["run", "scenarios/awsvpc-eni-density.yaml", "-o", str(out)]) == 0
    printed = capsys.readouterr().out.replace(str(out), "results/awsvpc-eni-density")
    printed = printed.splitlines()
    assert len(printed) == len(shown)
    for got, want in zip(printed, shown, strict=True):
        if want.endswith(" ..."):  # a long line the README shortens
            assert got.startswith(want[:-4]), (got, want)
        else:
            assert got == want


def test_python_snippet_runs(tmp_path, monkeypatch):
    code = _block("import ecsnetsim\nsc = ecsnetsim.load_scenario")
    monkeypatch.chdir(tmp_path)
    code = code.replace('"scenarios/', f'"{ROOT}/scenarios/')
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    assert isinstance(namespace["res"], ecsnetsim.Results)
    assert (tmp_path / "results" / "x" / "results.json").is_file()


def test_every_scenario_named_in_the_readme_exists():
    for name in set(re.findall(r"scenarios/([\w-]+\.yaml)", README)):
        assert (ROOT / "scenarios" / name).is_file(), name


def test_mode_table_is_what_ecsnetsim_modes_prints(capsys):
    from ecsnetsim.cli import main

    assert main(["modes"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert _block("mode           Linux EC2").splitlines() == printed
