"""Run a scenario and keep a screenshot of its report.html, taken by headless Chromium.

    python scripts/report_screenshot.py                       # docs/img/report-screenshot.png
    python scripts/report_screenshot.py scenarios/compare-modes.yaml -o /tmp/shot.png

The screenshot is for review (the README shows it): it is what a reader of report.html
sees in a browser. The functions here also drive the browser test of the page
(tests/test_report_html.py), so that both open it the same way: Debian's ``chromium``
(``apt-get install chromium``; ``ECSNETSIM_CHROMIUM`` names another binary), headless,
with a new profile and no network services of its own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Flags every run of the browser gets: headless, no sandbox (CI runs as root), and none
#: of the background requests a fresh profile would make.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio"]
#: Seconds a page may take to load and render.
TIMEOUT = 120


def find_chromium() -> str | None:
    """The Chromium binary: ``$ECSNETSIM_CHROMIUM``, else ``chromium`` on the PATH."""
    named = os.environ.get("ECSNETSIM_CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium(page: Path, *args: str, binary: str | None = None) -> subprocess.CompletedProcess:
    """Open ``page`` (a local file) in headless Chromium with ``args``, in a new profile
    directory that is removed afterwards; raise if the browser fails."""
    exe = binary or find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium not found (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="ecsnetsim-chromium-") as profile:
        proc = subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
            capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited with {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


def dump_dom(page: Path, binary: str | None = None) -> str:
    """The page's DOM after it loaded, as the browser serialises it."""
    return chromium(page, "--dump-dom", binary=binary).stdout


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2400,
               binary: str | None = None) -> Path:
    """A PNG of the page's top ``width`` x ``height`` CSS pixels."""
    png.parent.mkdir(parents=True, exist_ok=True)
    chromium(page, f"--screenshot={png.resolve()}", f"--window-size={width},{height}",
             binary=binary)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot at {png}")
    return png


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios/fargate-vs-ec2.yaml"))
    p.add_argument("-o", "--output", default=str(ROOT / "docs/img/report-screenshot.png"))
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=2400)
    args = p.parse_args(argv)
    scenario, output = Path(args.scenario).resolve(), Path(args.output).resolve()
    if scenario.is_relative_to(ROOT):  # the page shows the path: keep it the repo's
        os.chdir(ROOT)
        scenario = scenario.relative_to(ROOT)

    from ecsnetsim.cli import main as ecsnetsim

    with tempfile.TemporaryDirectory(prefix="ecsnetsim-report-") as tmp:
        out = Path(tmp) / "run"
        status = ecsnetsim(["run", str(scenario), "-o", str(out), "--quiet", "--plots"])
        if status != 0:
            return status
        shot = screenshot(out / "report.html", output, args.width, args.height)
    print(shot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
