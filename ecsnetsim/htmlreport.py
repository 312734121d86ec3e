"""``report.html``: one run on one page, readable in any browser without a server.

The page holds the scenario's question, the computed answer, whether the run agrees with
the scenario's ``expect:`` claims, the text summary, every figure drawn for the run (PNG
embedded as a data URI) with a one-line caption, and the tables: services, instances,
unplaced tasks with their reasons, subnets, flows, the busiest devices and deployments.
Everything is in the one file (inline CSS, no script, no external request), so that it
can be mailed, attached to a ticket or opened from an artifact store as it is. It is
derived from the same results document as every other output, and written inside the
result set, so it never describes another run than the files beside it.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import limits, tables
from .labels import variant_label
from .report import answer, summary
from .scenario import expect

#: The file name inside OUTDIR.
NAME = "report.html"
#: Rows shown per table; the CSV files have them all.
MAX_ROWS = 300

CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #dde1e8; --bg: #ffffff; --band: #f6f7f9;
        --ok: #1a7f37; --ok-bg: #e8f5ec; --bad: #b42318; --bad-bg: #fdecea; --accent: #2f5fd0; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
             "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 20px; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 4px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; color: var(--muted); }
.meta { color: var(--muted); font-size: 13px; }
.meta code { font-size: 12px; }
.card { background: var(--band); border: 1px solid var(--line); border-radius: 8px;
        padding: 14px 18px; margin: 12px 0; }
.card p { margin: 4px 0; }
.label { display: inline-block; min-width: 92px; font-weight: 600; color: var(--muted);
         text-transform: uppercase; font-size: 12px; letter-spacing: 0.05em; }
.answer { font-size: 16px; font-weight: 600; margin: 4px 0; }
.answer ul.answers { margin: 2px 0 0 0; padding-left: 112px; }
.answer ul.answers li { margin: 1px 0; }
details { margin: 6px 0 12px; }
details summary { cursor: pointer; color: var(--accent); font-size: 14px; }
.verdict { border-radius: 8px; padding: 10px 16px; margin: 12px 0; font-weight: 600; }
.verdict.ok { background: var(--ok-bg); color: var(--ok); border: 1px solid #b7e1c3; }
.verdict.bad { background: var(--bad-bg); color: var(--bad); border: 1px solid #f3b8b1; }
.verdict.none { background: var(--band); color: var(--muted); border: 1px solid var(--line); }
.verdict ul { margin: 6px 0 0 0; padding-left: 20px; font-weight: 400; }
pre { background: #0f1420; color: #e6e9ef; padding: 14px 16px; border-radius: 8px;
      overflow-x: auto; font: 12px/1.45 "DejaVu Sans Mono", Menlo, Consolas, monospace; }
figure { margin: 18px 0 26px; padding: 12px; border: 1px solid var(--line);
         border-radius: 8px; background: #fff; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { margin-top: 8px; color: var(--muted); font-size: 13px; }
figcaption b { color: var(--ink); }
.table-wrap { overflow-x: auto; margin: 6px 0 14px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { background: var(--band); font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.pass { color: var(--ok); font-weight: 600; }
td.fail { color: var(--bad); font-weight: 600; }
td code, p code { font-size: 12px; }
.note { color: var(--muted); font-size: 12px; margin: 2px 0 10px; }
nav { font-size: 13px; margin: 8px 0 0; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _cell(value: Any) -> tuple[str, bool]:
    """(text, numeric) of a table cell."""
    if value is None:
        return "-", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int):
        return f"{value:,}", True
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:,.0f}", True
        return (f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"), True
    if isinstance(value, dict):
        return ", ".join(f"{k}×{v}" for k, v in value.items()) or "-", False
    return str(value), False


def _table(title: str, columns: list[str], rows: list[list[Any]], anchor: str,
           note: str = "") -> str:
    """A titled table; numbers right-aligned, at most :data:`MAX_ROWS` rows."""
    out = [f'<h3 id="{anchor}">{_e(title)}</h3>']  # every table's heading, rows or not
    if note:
        out.append(f'<p class="note">{_e(note)}</p>')
    if not rows:
        out.append('<p class="note">none</p>')
        return "\n".join(out)
    numeric = [all(_cell(r[i])[1] or r[i] is None for r in rows) and
               any(_cell(r[i])[1] for r in rows) for i in range(len(columns))]
    head = "".join(f'<th class="num">{_e(c)}</th>' if n else f"<th>{_e(c)}</th>"
                   for c, n in zip(columns, numeric, strict=True))
    body = []
    for row in rows[:MAX_ROWS]:
        cells = []
        for value, n in zip(row, numeric, strict=True):
            text, _ = _cell(value)
            cells.append(f'<td class="num">{_e(text)}</td>' if n else f"<td>{_e(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="note">{len(rows) - MAX_ROWS:,} more rows in the CSV files and '
            "results.json</p>") if len(rows) > MAX_ROWS else ""
    return "\n".join(out + [f'<div class="table-wrap"><table data-table="{anchor}">'
                            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
                            f"</tbody></table></div>{more}"])


def _html(table: tables.Table) -> str:
    """A table of :mod:`ecsnetsim.tables`, as the summary prints it, in HTML."""
    return _table(table.title, [c.header for c in table.columns], table.rows, table.name,
                  table.note)


def _tables(doc: dict) -> list[str]:
    """Every table of :data:`ecsnetsim.tables.REPORT_TABLES`, and the limits hit when the
    run modelled connections."""
    variants = doc["variants"]
    shown = [build(variants) for build in tables.REPORT_TABLES]
    if limits.modelled(doc):
        shown.append(tables.limits_hit(variants))
    return [_html(t) for t in shown]


def _verdict(doc: dict) -> str:
    """The expectation verdict: agrees (green), DISAGREES with each failing claim (red),
    or not checked (grey)."""
    lines = expect.verdict(doc)
    if not lines:
        return ('<div class="verdict none">Expected: not checked (these results carry no '
                "expectations)</div>")
    claims = doc["expectations"]["claims"]
    failed = [c for c in claims if c["pass"] is False]
    if not failed:
        cls = "ok" if any(c["pass"] for c in claims) else "none"
        return f'<div class="verdict {cls}">Expected: {_e(lines[0][len("expected: "):])}</div>'
    checked = sum(1 for c in claims if c["pass"] is not None)
    items = "".join(f"<li>{_e(expect.failure(c))}</li>" for c in failed)
    return (f'<div class="verdict bad">Expected: the run DISAGREES — {len(failed)} of '
            f"{checked} claims do not hold<ul>{items}</ul></div>")


def _claims(doc: dict) -> str:
    """Every claim with the values of its two sides, in a section that opens by itself
    when a claim does not hold."""
    block = doc.get("expectations")
    if not expect.well_formed(block) or not block["claims"]:
        return ""
    rows = []
    for c in block["claims"]:
        checks = c.get("checks") or []
        got = "; ".join((f"{variant_label(str(k['variant']))}: " if k.get("variant") else "")
                        + expect.show(k.get("left")) + " · " + expect.show(k.get("right"))
                        for k in checks if isinstance(k, dict))
        cls, word = {True: ("pass", "holds"), False: ("fail", "does not hold")}.get(
            c["pass"], ("", f"not checked: {c.get('not_checked') or ''}"))
        rows.append(f"<tr><td><code>{_e(c['claim'])}</code></td><td>{_e(got)}</td>"
                    f'<td class="{cls}">{_e(word)}</td></tr>')
    held = sum(1 for c in block["claims"] if c["pass"])
    opened = any(c["pass"] is False for c in block["claims"])
    return (f'<details id="claims"{" open" if opened else ""}><summary>The {len(rows)} '
            f"claims of the scenario's <code>expect:</code> ({held} hold)</summary>"
            '<div class="table-wrap"><table data-table="claims"><thead><tr><th>claim</th>'
            "<th>values (left · right)</th><th>result</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div></details>")


def caption(name: str) -> str:
    """A figure's one-line caption: the first sentence of its drawing function's
    docstring (:data:`ecsnetsim.plots.FIGURES`), so that it says what the code draws."""
    try:
        from . import plots

        # the figure's own module only (plots.FIGURES would import every figure's)
        fn = getattr(plots, name) if name in plots.FIGURE_NAMES else None
        doc = (getattr(fn, "__doc__", None) or "").strip()
    except Exception:  # noqa: BLE001 (a caption is never worth a failed report)
        doc = ""
    text = " ".join(doc.split("\n\n")[0].split())
    text = re.sub(r":\w+:`~?([^`]*)`", r"\1", text).replace("``", "")
    first = text.split(". ")[0].rstrip(".")
    return first + "." if first else name.replace("_", " ").capitalize() + "."


def _figures(files: Iterable[Path]) -> str:
    by_stem: dict[str, Path] = {}
    for p in files:
        if p.suffix == ".png" or (p.suffix == ".svg" and p.stem not in by_stem):
            by_stem[p.stem] = p
    if not by_stem:
        return ('<p class="note">No figures were drawn for this run (<code>run</code> draws '
                "them with <code>--plots</code>); <code>ecsnetsim plot OUTDIR</code> draws "
                "them from the result files and rewrites this page.</p>")
    out = []
    for stem, path in by_stem.items():
        mime = "image/png" if path.suffix == ".png" else "image/svg+xml"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        out.append(f'<figure id="fig-{_e(stem)}"><img src="data:{mime};base64,{data}" '
                   f'alt="{_e(stem)}"><figcaption><b>{_e(stem)}</b> — {_e(caption(stem))}'
                   "</figcaption></figure>")
    return "\n".join(out)


def _safe(build, what: str) -> str:
    """``build()``, or a note where it cannot be built: results.json is user input, and
    ``plot`` checks only the fields the figures read, so a hand-edited file may lack one
    the text summary reads; the rest of the page is still worth having."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001
        return (f'<p class="note">The {what} cannot be made from this results.json '
                f"({_e(type(exc).__name__)}: {_e(exc)}).</p>")


def render(results, figures: Iterable[Path] = ()) -> str:
    """The page for ``results`` with the figure files ``figures`` embedded."""
    doc = results.document
    sc = doc.get("scenario") or {}
    block = doc.get("expectations") if expect.well_formed(doc.get("expectations")) else {}
    head = {} if block else expect.header(sc.get("path"))
    question = block.get("question") or head.get("Question")
    expected = block.get("expected") or head.get("Expected")
    name = sc.get("name") or "results"
    meta = (f"seed {_e(doc.get('seed'))} · {len(doc['variants'])} variant(s)"
            + (f" · {_e(doc['replications'])} replications" if doc.get("replications") else "")
            + (f" · <code>{_e(sc['path'])}</code>" if sc.get("path") else "")
            + f" · ecsnetsim {_e(doc.get('ecsnetsim_version', ''))}")
    intro = ['<div class="card">']
    if question:
        intro.append(f'<p><span class="label">Question</span> {_e(question)}</p>')
    def answers() -> str:
        parts_ = answer(results).split("; ")
        return _e(parts_[0]) if len(parts_) == 1 else (
            '<ul class="answers">' + "".join(f"<li>{_e(p)}</li>" for p in parts_) + "</ul>")

    shown = _safe(answers, "answer")
    intro.append(f'<div class="answer"><span class="label">Answer</span> {shown}</div>')
    if expected:
        intro.append(f'<p><span class="label">Expected</span> {_e(expected)}</p>')
    intro.append("</div>")
    nav = " ".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("figures", "Figures"), ("tables", "Tables"), ("summary", "Summary")))
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ecsnetsim: {_e(name)}</title><style>{CSS}</style></head><body><main>",
        f'<header><h1>{_e(name)}</h1><div class="meta">{meta}</div><nav>{nav}</nav></header>',
        *intro, _safe(lambda: _verdict(doc) + _claims(doc), "expectation verdict"),
        '<h2 id="figures">Figures</h2>', _figures(figures),
        '<h2 id="tables">Tables</h2>', _safe(lambda: "\n".join(_tables(doc)), "tables"),
        '<h2 id="summary">Summary</h2>',
        _safe(lambda: f"<pre>{_e(summary(results))}</pre>", "text summary"),
        "<footer>Written by ecsnetsim from results.json; the CSV files beside it hold every "
        "row.</footer>", "</main></body></html>", "",
    ]
    return "\n".join(parts)


def write(results, outdir: str | Path, drawn: Iterable[str] = ()) -> str:
    """Write ``outdir/report.html`` with the figures ``drawn`` (file names in
    ``outdir``); return its name, for the list of files of the result set."""
    out = Path(outdir)
    (out / NAME).write_text(render(results, [out / n for n in drawn]), encoding="utf-8")
    return NAME
