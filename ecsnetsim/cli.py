"""Command line: ``ecsnetsim run|validate|plot|plan|instance-types|modes|schema|import``.

Exit status: 0 success, 2 invalid input (one clear message, no traceback), 1 an
internal error, 3 (``run --check``) a run that disagrees with its scenario's ``expect:``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

from . import __version__
from .errors import InputError, Stopped, show

#: Signals that stop a command cleanly: what Ctrl-C, ``timeout``/``docker stop``/CI and a
#: closed terminal send.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, n))


def _whole(minimum: int, maximum: int | None = None):
    """An argparse type: a whole number of at least ``minimum`` (and at most ``maximum``),
    bounded by its value before it is converted (``int`` of 100,000 digits is slow)."""
    def parse(text: str) -> int:
        expected = f"a whole number >= {minimum}" + (
            "" if maximum is None else f" and <= {maximum}")
        digits = len(text.strip().lstrip("+-").lstrip("0"))
        if maximum is not None and digits > len(str(maximum)):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {show(text, 60)}, "
                                             f"a number of {digits:,} digits")
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {show(text, 60)}"
                                             ) from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {show(text, 60)}")
        return value
    return parse


def _seed(text: str) -> int:
    """``--seed``: 0 to the largest seed a scenario may give (2**128-1)."""
    from .units import MAX_SEED  # noqa: PLC0415 (ecsnetsim --help stays light)

    return _whole(0, MAX_SEED)(text)


_seed.__name__ = "seed"
_positive = _whole(1)


def _fraction(text: str) -> float:
    """``5%`` or ``0.05``."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction such as 5% or 0.05, "
                                         f"got {show(text, 60)}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 too; keep its one-line form
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _warn(scenario) -> None:
    """Print what is valid but probably not meant (an INACTIVE task definition)."""
    from .scenario import source_of

    for warning in source_of(scenario).warnings:
        print(f"ecsnetsim: warning: {warning}", file=sys.stderr)


def _cmd_modes(args) -> int:
    """The network-mode table, from the registry: where ECS allows each mode."""
    from . import modes

    heads = [f"{'Linux' if os == 'linux' else 'Windows'} {lt}" if lt == "EC2" else lt.title()
             for lt, os in modes.PLATFORMS]
    print(f"{'mode':<10}" + "".join(f"{h:>14}" for h in heads) + "  default on")
    print("-" * (10 + 14 * len(heads) + 12))
    for name, cells in modes.table():
        default = modes.get(name).default_for_os or ""
        row = f"{name:<10}" + "".join(f"{'yes' if cells[p] else 'no':>14}"
                                      for p in modes.PLATFORMS) + f"  {default}"
        print(row.rstrip())
    return 0


def _cmd_run(args) -> int:
    from .executors import resolve
    from .report import summary
    from .results import check_outdir
    from .scenario import load_scenario
    from .simulate import simulate

    resolve(args.executor, args.workers)  # a bad --executor or a missing extra fails first
    plots = _figures_wanted(args)
    if args.replications is not None:
        args.set = [*args.set, f"replications={args.replications}"]
    _check_set_values(args.set)
    scenario = load_scenario(args.scenario, overrides=args.set,
                             variant_budget=_variant_budget(args.force, args.precision))
    _warn(scenario)
    outdir = Path(args.output) if args.output else Path("results") / scenario.name
    check_outdir(outdir)
    _check_cost(scenario, args.force, args.quiet, precision=args.precision)
    results = simulate(scenario, seed=args.seed, progress=not args.quiet,
                       precision=args.precision, workers=args.workers,
                       executor=args.executor)
    if not args.quiet:  # the answer first; drawing the figures takes longer than the run
        print(summary(results), flush=True)
    written = results.save(outdir, plots=plots, svg=args.svg)
    if not args.quiet:
        _say_written(written, outdir, results, plots)
        _say_if_not_compiled()
    return _check_expectations(results.document) if args.check else 0


def _figures_wanted(args) -> bool | list[str]:
    """Which figures ``run`` draws: none by default (drawing costs more CPU than a typical
    run's simulation: ``ecsnetsim plot`` draws them later from the result files), all
    that apply with ``--plots`` or ``--svg``, or the ones ``--plots`` names."""
    if args.no_plots or (args.plots is None and not args.svg):
        return False
    if args.plots in (None, "all"):
        return True
    from .plots import FIGURE_NAMES  # noqa: PLC0415 (names only: no matplotlib)
    from .scenario.messages import did_you_mean  # noqa: PLC0415

    names = [n.strip() for n in args.plots.split(",") if n.strip()]
    for name in names:
        if name not in FIGURE_NAMES:
            starting = [n for n in FIGURE_NAMES if n.startswith(name)]
            hint = did_you_mean(name, list(FIGURE_NAMES)) or (
                f" (did you mean {show(starting[0])}?)" if starting else "")
            raise InputError(f"--plots: unknown figure {show(name)}{hint}; expected 'all' or "
                             f"names among {', '.join(FIGURE_NAMES)}")
    return names


def _say_written(written: list[Path], outdir: Path, results, plots: bool | list[str]) -> None:
    """The files ``run`` wrote, and the figures it drew (or could draw, and how)."""
    figure = {".png", ".svg"}
    data = [p.name for p in written if p.suffix not in figure]
    figures = sorted({p.stem for p in written if p.suffix in figure})
    formats = ", ".join(sorted({p.suffix[1:] for p in written if p.suffix in figure}))
    print(f"\nwrote {', '.join(data)} to {outdir}")
    if figures:
        print(f"figures ({formats}): {', '.join(figures)}")
    elif not plots:
        from .plots.files import applicable  # noqa: PLC0415 (decided without matplotlib)

        if supported := applicable(results):
            print(f"figures not drawn ({len(supported)} apply: {', '.join(supported)}); "
                  f"draw them with: ecsnetsim plot {outdir}  (or run with --plots)")


def _say_if_not_compiled() -> None:
    """On stderr, what ran from source because the install could not compile it (pip
    shows the build's own warning only with -v)."""
    from .compiled import install_notice

    notice = install_notice()
    if notice:
        print(notice, file=sys.stderr)


#: ``run --check``'s exit status when the run disagrees with its scenario's claims.
DISAGREES = 3


def _check_expectations(doc: dict) -> int:
    """``--check``: 3 when a claim of the scenario's ``expect:`` does not hold, with the
    verdict on stderr (the summary may be off with --quiet)."""
    from .scenario.expect import verdict

    block = doc.get("expectations") or {}
    if not block.get("claims"):
        print("ecsnetsim: --check: the scenario has no expect: claims to check",
              file=sys.stderr)
        return 0
    if block.get("agrees"):
        return 0
    print("\n".join(f"ecsnetsim: {line.strip()}" for line in verdict(doc)), file=sys.stderr)
    return DISAGREES


def _check_set_values(assignments: list[str]) -> None:
    """Read each ``--set`` value with the scenario loader's bounds first: the value is
    YAML too, and a nested alias, a 10,000-deep list, a 5,000-digit number or ``!!int x``
    must be a clean error naming ``--set``, as in a file. (A value that is not YAML at
    all stays a string, as ``--set`` reads it.)"""
    from .scenario.yamlsrc import load_yaml

    for text in assignments:
        _, eq, value = text.partition("=")
        if not eq:
            continue
        try:
            load_yaml(value)
        except InputError as exc:
            if not exc.message.startswith("not valid YAML"):
                shown = text if len(text) <= 80 else text[:77] + "..."
                raise InputError(f"--set {shown}: {exc.message}") from None


def _variant_budget(force: bool, precision: float | None) -> int | None:
    """The most runs (variants times replications) a scenario may make before its
    variants are built: run's budget, shared among the replications ``--precision`` may
    add; none with ``--force``."""
    if force:
        return None
    from .cost import BUDGET, replications_of

    return BUDGET["variants"] // replications_of(1, precision)


def _check_cost(scenario, force: bool, quiet: bool, est=None, what: str = "run",
                precision: float | None = None) -> None:
    """Estimate the run (or take ``est``, the planner's worst case) before doing it,
    with the replications ``precision`` may add; above the budget, refuse unless
    ``--force`` (then say what is coming, so that a long run is never a silent one)."""
    from .cost import BUDGET, FORCE_FLAG, estimate
    from .scenario import source_of

    est = estimate(scenario, precision=precision) if est is None else est
    over = est.over_budget()
    if not over:
        return
    limits = ", ".join(f"{k} {BUDGET[k]:,}" for k in over)
    if not force:
        raise InputError(f"this {what} is estimated at {est.describe()}, above the budget "
                         f"({limits}); it could take hours. Reduce it, or add {FORCE_FLAG} "
                         "to run it anyway", file=source_of(scenario).path)
    if not quiet:
        print(f"ecsnetsim: {FORCE_FLAG}: running {est.describe()}, above the budget "
              f"({limits})", file=sys.stderr)


def _cmd_validate(args) -> int:
    from .scenario import load_scenario, variants_of

    _check_set_values(args.set)
    bad = 0
    for path in args.scenarios:  # every file, each error printed; exit 2 if any is bad
        try:
            sc = load_scenario(path, overrides=args.set,
                               variant_budget=_variant_budget(args.force, None))
        except InputError as exc:
            print(f"ecsnetsim: error: {exc}", file=sys.stderr)
            bad += 1
            continue
        _warn(sc)
        print(f"{path}: ok ({sc.name}, {len(variants_of(sc))} variant(s))")
    if bad and len(args.scenarios) > 1:
        print(f"ecsnetsim: {bad} of {len(args.scenarios)} files invalid", file=sys.stderr)
    return 2 if bad else 0


def _cmd_schema(args) -> int:
    from .scenario import Scenario

    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ecsnetsim scenario (version 1)"
    print(json.dumps(schema, indent=2))
    return 0


def _cmd_import(args) -> int:
    from .importers import KINDS, StackError, import_stack

    params = {}
    for text in args.parameter:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise StackError(f"--parameter {show(text, 60)}: expected KEY=VALUE")
        params[key] = value
    if args.kind not in KINDS:  # argparse checks choices; kept for the Python caller
        raise StackError(f"unknown kind {args.kind!r}; expected one of {', '.join(KINDS)}")
    imported = import_stack(args.kind, args.sources, parameters=params,
                            templates=args.templates, region=args.region, name=args.name)
    if args.output:
        imported.write(args.output)
        if not args.quiet:
            print(f"wrote {args.output}: {len(imported.scenario.get('services', []))} "
                  f"services, {len(imported.scenario['cluster']['instance_groups'])} "
                  f"instance groups, {len(imported.ignored)} resources not modelled "
                  "(see its comments)")
    else:
        sys.stdout.write(imported.text)
    return 0


def _cmd_instance_types(args) -> int:
    from . import catalog
    from .control import trunking

    table = catalog.trunking_table()
    pattern = args.pattern
    if pattern and pattern.strip().endswith(".") and not any(c in pattern for c in "*?["):
        pattern = pattern.strip() + "*"  # "m5." is the family: m5.*
    types = catalog.match(pattern) if pattern else catalog.all_types()
    if not types:
        raise InputError(f"no instance type matches {args.pattern!r}")
    types = sorted(types, key=lambda t: natural_type_key(t.name))
    # A GPUs column only when a listed type has GPUs: other listings read as they always did.
    gpus = any(t.gpus for t in types)
    print(f"{'type':<22}{'vCPU':>5}{'MiB':>9}{'ENIs':>6}{'IPv4/ENI':>10}"
          f"{'awsvpc tasks':>14}{'with trunking':>15}{'  GPUs' if gpus else ''}  note")
    for t in types:
        trunk = "-" if t.trunk_tasks is None else str(t.trunk_tasks)
        note = t.trunk_note or ("" if t.name in table else
                                f"not in ECS's trunking table of {trunking.TABLE_DATE}")
        gpu = f"{t.gpus or '-':>6}" if gpus else ""
        print(f"{t.name:<22}{t.vcpus:>5}{t.memory_mib:>9}{t.max_enis:>6}{t.ipv4_per_eni:>10}"
              f"{t.awsvpc_tasks_without_trunking:>14}{trunk:>15}{gpu}  {note}")
    print(f"\n{len(types)} type(s); ENIs: EC2 DescribeInstanceTypes; trunking: ECS's table "
          f"of {trunking.TABLE_DATE}.")
    return 0


#: Sizes below ``xlarge``, smallest first.
_SMALL_SIZES = ("nano", "micro", "small", "medium", "large")


def natural_type_key(name: str) -> tuple:
    """Sort key of an instance type by family (digits as numbers), then size from
    smallest to largest: c5.large, c5.xlarge, c5.2xlarge, ..., c5.24xlarge, c5.metal."""
    import re

    family, _, size = name.partition(".")
    fam = tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.findall(r"\d+|\D+", family))
    if size in _SMALL_SIZES:
        rank: tuple = (0, _SMALL_SIZES.index(size))
    elif m := re.fullmatch(r"(\d*)xlarge", size):
        rank = (1, int(m.group(1) or 1))
    elif size.startswith("metal"):
        rank = (2, size)
    else:
        rank = (3, size)
    return fam, rank


def _cmd_plot(args) -> int:
    from .results import Results

    results_dir = Path(args.results_dir)
    if results_dir.name == "results.json" and results_dir.is_file():
        results_dir = results_dir.parent  # the file itself: its directory holds the set
    if not (results_dir / "results.json").is_file():
        raise InputError("no results.json here; expected the OUTDIR of 'ecsnetsim run'",
                         file=str(results_dir))
    written = Results.load(results_dir).save_figures(Path(args.output or results_dir),
                                                     svg=args.svg)
    for p in written:
        print(p)
    return 0


def _cmd_plan(args) -> int:
    from . import planner
    from .results import check_outdir
    from .scenario import load_scenario

    _check_set_values(args.set)
    types = [t for t in (args.types or "").split(",") if t.strip()] or None
    if args.types is not None and not types:
        raise InputError("--types: expected a comma-separated list, e.g. c5.large,m5.large")
    scenario = load_scenario(args.scenario, overrides=args.set)
    outdir = Path(args.output) if args.output else Path("results") / scenario.name
    check_outdir(outdir)
    log = None if args.quiet else (lambda line: print(f"  {line}", file=sys.stderr))

    def check(est) -> None:  # the search's worst case, against run's budget
        _check_cost(scenario, args.force, args.quiet, est, what="plan's search")

    result = planner.plan(args.scenario, args.group, types=types, max_count=args.max,
                          slos=args.slo, overrides=args.set, log=log, check=check,
                          executor=args.executor)
    path = planner.write(result, outdir)
    if not args.quiet:
        print(planner.table(result))
        print(f"\nwrote {path.name} to {outdir}")
    return 0


def _sub(sub, name: str, help: str, description: str, examples: str):
    """A subcommand with a one-line help, a description and examples under its --help."""
    return sub.add_parser(name, help=help, description=description,
                          epilog="examples:\n" + examples,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _executor_flag(parser) -> None:
    """``--executor``: where the simulations run (see :mod:`ecsnetsim.executors`)."""
    parser.add_argument("--executor", default="local", metavar="E",
                        help="where the runs execute: local (a process pool, the default), "
                             "dask (a Dask cluster on this machine) or dask://HOST:PORT (a "
                             "running Dask scheduler); results are the same on each. Dask "
                             "needs: pip install -e '.[dask]'")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ecsnetsim", description="Simulate Amazon ECS task network modes on EC2.",
                epilog="examples:\n  ecsnetsim run scenarios/awsvpc-eni-density.yaml\n"
                       "  ecsnetsim instance-types c5\n"
                       "run 'ecsnetsim COMMAND --help' for a command's options",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"ecsnetsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    for add in (_add_run, _add_validate, _add_plot, _add_plan, _add_lookups, _add_import):
        add(sub)
    return p


def _add_run(sub) -> None:
    """``ecsnetsim run``."""
    r = _sub(sub, "run", "run a scenario and write result files",
             "Simulate every variant of a scenario, print a summary (with a one-line answer "
             "to the scenario's question) and write results.json, the CSV tables and "
             "report.html into OUTDIR (default results/<name>/); with --plots, the figures "
             "too (or later: ecsnetsim plot OUTDIR).",
             "  ecsnetsim run scenarios/awsvpc-eni-density.yaml\n"
             "  ecsnetsim run scenarios/compare-modes.yaml -o out --plots\n"
             "  ecsnetsim run scenarios/scale-out.yaml --set services[0].desired_count=12 "
             "--seed 7\n"
             "  ecsnetsim run scenarios/compare-modes.yaml --replications 20 --executor dask\n"
             "  ecsnetsim run scenarios/compare-modes.yaml --replications 20 "
             "--executor dask://10.0.0.5:8786")
    r.add_argument("scenario")
    r.add_argument("-o", "--output", help="output directory (default results/<name>)")
    r.add_argument("--seed", type=_seed, help="override the scenario's seed")
    r.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field, e.g. services[0].desired_count=8 (repeatable)")
    r.add_argument("--quiet", action="store_true", help="print nothing on success")
    drawn = r.add_mutually_exclusive_group()
    drawn.add_argument("--plots", nargs="?", const="all", metavar="NAMES",
                       help="draw the figures too: every one the results support, or "
                            "only those named (comma-separated, e.g. latency_cdf,hops_by_mode)")
    drawn.add_argument("--no-plots", action="store_true",
                       help="result files only, no figures (the default)")
    r.add_argument("--svg", action="store_true",
                   help="write each figure as SVG too (implies --plots)")
    r.add_argument("--force", action="store_true",
                   help="run even when the estimated cost is above the budget")
    r.add_argument("--replications", type=_positive, metavar="R",
                   help="independent replications of every variant (95%% intervals from 2)")
    r.add_argument("--precision", type=_fraction, metavar="P",
                   help="add replications (up to 30) until every flow's latency and "
                        "throughput interval is within P of its mean, e.g. 5%%")
    r.add_argument("--workers", type=_positive, default=None, metavar="N",
                   help="runs (variants x replications) in N processes at once, the "
                        "longest first (default: one per core; 1: in this process; with "
                        "--executor dask, the local cluster's workers); results are the "
                        "same whatever N")
    _executor_flag(r)
    r.add_argument("--check", action="store_true",
                   help="exit with status 3 when the run disagrees with the scenario's "
                        "expect: claims (results are written either way)")
    r.set_defaults(func=_cmd_run)


def _add_validate(sub) -> None:
    """``ecsnetsim validate``."""
    v = _sub(sub, "validate", "check scenario files without running them",
             "Load and check every scenario file given (every variant of each); print "
             "'ok' per good file and each error with file, field path and line. Exit "
             "status 2 if any file is invalid.",
             "  ecsnetsim validate scenarios/*.yaml\n"
             "  ecsnetsim validate my.yaml --set account.awsvpc_trunking=true")
    v.add_argument("scenarios", nargs="+")
    v.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field in every file before checking it (repeatable)")
    v.add_argument("--force", action="store_true",
                   help="check every variant even above run's budget of variants")
    v.set_defaults(func=_cmd_validate)


def _add_plot(sub) -> None:
    """``ecsnetsim plot``."""
    pl = _sub(sub, "plot", "regenerate plots from result files",
              "Redraw every figure the results support from a results.json alone, without "
              "simulating again. RESULTS is the OUTDIR of 'ecsnetsim run' or its "
              "results.json.",
              "  ecsnetsim plot results/compare-modes\n"
              "  ecsnetsim plot results/compare-modes/results.json -o figures")
    pl.add_argument("results_dir", metavar="RESULTS")
    pl.add_argument("-o", "--output", help="where to write the figures (default: RESULTS)")
    pl.add_argument("--svg", action="store_true", help="write each figure as SVG too")
    pl.set_defaults(func=_cmd_plot)


def _add_plan(sub) -> None:
    """``ecsnetsim plan``."""
    pn = _sub(sub, "plan", "the fewest instances of a group with which every service runs",
              "For each instance type, find the fewest instances in group G with which "
              "every service reaches its desired count (and every --slo holds), by "
              "bisection over the group's count on real simulations. Print a table (type, "
              "count, binding resource one instance fewer, ENIs/branches/IPs/ports used) "
              "and write plan.json into OUTDIR (default results/<name>/). A scenario with "
              "compare or sweep is refused: plan one variant at a time with --set. The "
              "search's worst case is checked against run's cost budget first (--force "
              "plans above it).",
              "  ecsnetsim plan scenarios/plan-ports.yaml --group hosts\n"
              "  ecsnetsim plan scenarios/plan-ports.yaml --group hosts "
              "--set services[0].containers[0].port_mappings[0].host_port=0\n"
              "  ecsnetsim plan my.yaml --group web --types c5.large,m5.large "
              "--slo 'ingress:p99<200us'\n"
              "  ecsnetsim plan my.yaml --group web --set replications=10 "
              "--executor dask://10.0.0.5:8786")
    pn.add_argument("scenario")
    pn.add_argument("--group", required=True, metavar="G",
                    help="the instance group to size, by name")
    pn.add_argument("--types", metavar="A,B,C",
                    help="instance types to plan for (default: the group's own type)")
    pn.add_argument("--max", type=_positive, default=200, metavar="N",
                    help="the largest count tried (default 200)")
    pn.add_argument("--slo", action="append", default=[], metavar="FLOW:p99<VALUE",
                    help="a flow's p99 latency must stay below VALUE, e.g. "
                         "'ingress:p99<200us' (repeatable; the mean p99 with replications)")
    pn.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a field before planning (repeatable)")
    pn.add_argument("-o", "--output", help="output directory (default results/<name>)")
    pn.add_argument("--quiet", action="store_true", help="print nothing on success")
    pn.add_argument("--force", action="store_true",
                    help="plan even when the search's worst case is above the budget")
    _executor_flag(pn)
    pn.set_defaults(func=_cmd_plan)


def _add_lookups(sub) -> None:
    """``ecsnetsim instance-types``, ``modes`` and ``schema``: what the simulator knows."""
    it = _sub(sub, "instance-types", "ENIs, IPs per ENI and awsvpc task limits of EC2 types",
              "List EC2 instance types with their vCPUs, memory, ENIs, IPv4 addresses per "
              "ENI, how many awsvpc tasks they take without and with ENI trunking and "
              "their GPUs (a column shown when a listed type has any), sorted by family "
              "and size.",
              "  ecsnetsim instance-types c5        # the c5 family (also: c5. or 'c5.*')\n"
              "  ecsnetsim instance-types c5.large\n"
              "  ecsnetsim instance-types '*.metal'")
    it.add_argument("pattern", nargs="?", help="glob or family, e.g. c5, m5. or 'm6i.*'")
    it.set_defaults(func=_cmd_instance_types)

    m = _sub(sub, "modes", "where ECS allows each network mode (Linux/Windows EC2, Fargate)",
             "Print ECS's network-mode table from the mode registry: which mode runs on "
             "Linux EC2, Windows EC2 and Fargate, and the default per OS.",
             "  ecsnetsim modes")
    m.set_defaults(func=_cmd_modes)

    s = _sub(sub, "schema", "print the JSON Schema of the scenario format",
             "Print the JSON Schema (draft 2020-12) of the scenario format, for editors "
             "that complete and check YAML.",
             "  ecsnetsim schema > ecsnetsim.schema.json")
    s.set_defaults(func=_cmd_schema)


def _add_import(sub) -> None:
    """``ecsnetsim import``."""
    im = _sub(sub, "import", "write a scenario from a CloudFormation stack, a Terraform plan "
              "or AWS CLI output",
              "Read a real stack and write the scenario it describes, commented: which "
              "resource each item came from, every assumption made and every resource left "
              "out and why. KIND is cloudformation (templates, YAML or JSON; nested stacks "
              "from local files), terraform ('terraform show -json' of a plan or state) or "
              "aws (saved describe-* JSON, any subset, any order). Nothing is fetched.",
              "  ecsnetsim import cloudformation stack.yaml -o scenario.yaml\n"
              "  ecsnetsim import cloudformation app.yaml network.yaml --parameter "
              "DesiredCount=4 -o s.yaml\n"
              "  terraform show -json plan.out > plan.json && ecsnetsim import terraform "
              "plan.json -o s.yaml\n"
              "  ecsnetsim import aws services.json taskdef.json subnets.json -o s.yaml")
    im.add_argument("kind", choices=["cloudformation", "terraform", "aws"], metavar="KIND",
                    help="cloudformation, terraform or aws")
    im.add_argument("sources", nargs="+", metavar="SOURCE")
    im.add_argument("-o", "--output", help="the scenario file to write (atomically); "
                                           "default: standard output")
    im.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                    help="a CloudFormation parameter's value (repeatable)")
    im.add_argument("--templates", action="append", default=[], metavar="DIR",
                    help="where nested stacks' templates are looked for (repeatable; "
                         "besides the template's own directory)")
    im.add_argument("--region", default="us-east-1",
                    help="region for AZ names the source leaves open (default us-east-1)")
    im.add_argument("--name", help="the scenario's name (default: the first source's)")
    im.add_argument("--quiet", action="store_true", help="print nothing on success")
    im.set_defaults(func=_cmd_import)


def _stop(signum: int, _frame) -> None:
    """Turn a stop signal into :class:`Stopped`; further ones are ignored so that the
    cleanup they would interrupt runs to its end (it is bounded: see ``simulate``)."""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise Stopped(signum)


@contextlib.contextmanager
def _stop_on_signals():
    """Within the block, SIGINT, SIGTERM and SIGHUP raise :class:`Stopped`; the handlers
    found before are put back after it (``main`` may run inside another program)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {s: signal.signal(s, _stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with _stop_on_signals():
            return args.func(args)
    except InputError as exc:
        print(f"ecsnetsim: error: {exc}", file=sys.stderr)
        return 2
    except Stopped as exc:
        name = signal.Signals(exc.signum).name
        print(f"ecsnetsim: stopped by {name}; worker processes ended, no partial result "
              "files left", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("ecsnetsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal error: say so plainly, keep the traceback short
        import traceback

        from .executors import WorkerLost

        if isinstance(exc, WorkerLost):  # the machine, not the model: no traceback
            print(f"ecsnetsim: error: {exc}", file=sys.stderr)
            return 1
        traceback.print_exc()
        print(f"ecsnetsim: internal error: {exc!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
