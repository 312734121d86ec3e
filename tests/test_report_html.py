"""report.html: written with every result set, self-contained, and opened in a real
headless Chromium (Debian's ``chromium`` package; ``.ci/run`` installs it).

Without the browser the test that opens the page skips, with the reason in pytest's
summary, so that the README's test command passes on a machine without Chromium; where
``ECSNETSIM_REQUIRE_BROWSER=1`` is set (``.ci/run`` sets it) it fails instead, so that CI
never skips it.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import struct

import pytest
from conftest import ROOT

from ecsnetsim import htmlreport
from ecsnetsim.cli import main

_spec = importlib.util.spec_from_file_location("report_screenshot",
                                               ROOT / "scripts" / "report_screenshot.py")
browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser)

SCENARIO = """\
# Question: how many awsvpc tasks fit on one c5.large, and does a rollout finish there?
# Expected: 2 of 4 run (3 ENIs, the primary takes one), 2 wait on RESOURCE:ENI, and the
# rollout stalls: no ENI is left for a new task.
version: 1
name: tiny
duration: 5s
vpc: {subnets: [{name: a, cidr: 10.0.0.0/24, az: us-east-1a}]}
cluster: {instance_groups: [{name: g, type: c5.large, count: 1, subnet: a}]}
services:
  - name: web
    desired_count: 4
    network_mode: awsvpc
    cpu: 128
    memory: 128
    containers: [{name: web, port_mappings: [{container_port: 8080}]}]
traffic:
  - {name: ingress, from: client, to: web, port: 8080, rate: 1000/s}
events:
  - {at: 5s, deploy: web, set: {cpu: 256}}
expect:
  - "web.running == 2"
  - "web.failures.RESOURCE:ENI == web.desired - web.running"
  - "flow ingress.unreachable == 0"
  - "deployment web.status == STALLED"
"""
#: The tables of the page; this scenario has rows for every one of them.
TABLES = ("services", "instances", "unplaced", "subnets", "flows", "devices", "deployments")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run with figures; its OUTDIR."""
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "tiny.yaml").write_text(SCENARIO)
    assert main(["run", str(tmp / "tiny.yaml"), "-o", str(tmp / "out"), "--quiet",
                 "--plots"]) == 0
    return tmp / "out"


#: Set to 1 where the browser must be there (CI): a missing browser fails, not skips.
REQUIRE = "ECSNETSIM_REQUIRE_BROWSER"


def _chromium() -> str:
    """The browser's path; without one, skip (fail where :data:`REQUIRE` is set)."""
    found = browser.find_chromium()
    if found:
        return found
    missing = ("chromium not found on the PATH (nor $ECSNETSIM_CHROMIUM): "
               "apt-get install chromium to open report.html in a real browser")
    if os.environ.get(REQUIRE, "") not in ("", "0"):
        pytest.fail(f"{missing}; {REQUIRE} is set, so the browser is required")
    pytest.skip(missing)


def _no_browser_on_the_path(monkeypatch, tmp_path):
    monkeypatch.delenv("ECSNETSIM_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no chromium on it


def test_no_browser_skips_with_the_reason(monkeypatch, tmp_path):
    _no_browser_on_the_path(monkeypatch, tmp_path)
    monkeypatch.delenv(REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium not found.*apt-get install"):
        _chromium()


@pytest.mark.parametrize("value", ["1", "yes"])
def test_no_browser_fails_where_it_is_required(monkeypatch, tmp_path, value):
    _no_browser_on_the_path(monkeypatch, tmp_path)
    monkeypatch.setenv(REQUIRE, value)
    with pytest.raises(pytest.fail.Exception, match="ECSNETSIM_REQUIRE_BROWSER is set"):
        _chromium()


def test_a_browser_named_by_the_environment_is_used(monkeypatch, tmp_path):
    _no_browser_on_the_path(monkeypatch, tmp_path)
    monkeypatch.setenv(REQUIRE, "1")
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ECSNETSIM_CHROMIUM", str(fake))
    assert _chromium() == str(fake)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_report_is_part_of_the_result_set_and_self_contained(run):
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<link" not in page.lower()
    external = re.findall(r"""(?:src|href)\s*=\s*["'](?!data:|#)([^"']*)""", page)
    assert external == []
    assert not re.search(r"url\(\s*['\"]?(?!data:)", page)  # nothing fetched by the CSS
    figures = sorted(p for p in run.glob("*.png"))
    sources = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', page)
    assert len(figures) >= 3 and len(sources) == len(figures)
    for data, alt in sources:  # each embedded image is the figure drawn, whole
        raw = base64.b64decode(data, validate=True)
        assert raw == (run / f"{alt}.png").read_bytes()
        assert min(_png_size(raw)) > 0


def test_report_says_the_question_answer_verdict_and_captions(run):
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "how many awsvpc tasks fit on one c5.large" in page
    assert "2/4 running, bound by RESOURCE:ENI" in page
    assert "Expected: agrees (4 claims)" in page
    assert page.count("<figcaption>") == len(list(run.glob("*.png")))
    assert f"— {htmlreport.caption('placement_outcome')}</figcaption>" in page


def test_report_opens_in_headless_chromium(run, tmp_path):
    exe = _chromium()
    dom = browser.dump_dom(run / "report.html", binary=exe)
    assert "</html>" in dom and "<title>ecsnetsim: tiny</title>" in dom
    assert len(re.findall(r"<img\b", dom)) == len(list(run.glob("*.png")))
    for table in TABLES:
        assert f'id="{table}"' in dom, table
        rows = re.search(rf'<table data-table="{table}">.*?<tbody>(.*?)</tbody>', dom, re.S)
        assert rows and "<tr>" in rows.group(1), table
    assert re.search(r'<td class="num">2</td>', dom)  # numbers are right-aligned cells
    shot = browser.screenshot(run / "report.html", tmp_path / "shot.png", 1000, 1400,
                              binary=exe)
    width, height = _png_size(shot.read_bytes())
    assert (width, height) == (1000, 1400)
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.std() > 0.05  # a rendered page, not a blank one
    # the first figure sits in the top 1400 px: part of the screenshot is not page grey
    assert (pixels[:, :, :3].std(axis=2) > 0.1).any()  # coloured pixels: a drawn figure


def test_plot_rewrites_the_report_with_the_figures(tmp_path):
    (tmp_path / "tiny.yaml").write_text(SCENARIO)
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "tiny.yaml"), "-o", str(out), "--no-plots",
                 "--quiet"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<img" not in page and "--plots" in page and "ecsnetsim plot OUTDIR" in page
    assert main(["plot", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("<img") == len(list(out.glob("*.png"))) >= 3


@pytest.mark.parametrize("block", [
    None, "x", {"claims": "x"}, {"claims": [{"claim": 3, "pass": True}]},
    {"claims": [{"claim": "web.running == 2", "pass": False, "checks": ["x", None]}]},
    {"agrees": False, "claims": [{"claim": "not a claim", "pass": False,
                                  "checks": [{"left": {}, "right": [1], "pass": False}]}]},
])
def test_a_hand_edited_expectations_block_never_breaks_the_page(run, block):
    """results.json is user input (``plot`` reads it back): a broken block is shown as
    not checked or as far as it reads, never a crash."""
    import json

    from ecsnetsim import Results

    doc = json.loads((run / "results.json").read_text())
    doc["expectations"] = block
    page = htmlreport.render(Results(doc))
    assert "Expected:" in page and "cannot be made" not in page
