"""Command line: ``ecsnetsim run|validate|plot|instance-types|modes|schema``.

Exit status: 0 success, 2 invalid input (one clear message, no traceback), 1 an
internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .errors import InputError


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
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
    from .report import summary
    from .scenario import load_scenario
    from .simulate import simulate

    scenario = load_scenario(args.scenario, overrides=args.set)
    _warn(scenario)
    outdir = Path(args.output) if args.output else Path("results") / scenario.name
    if outdir.exists() and not outdir.is_dir():
        raise InputError("exists and is not a directory; expected an output directory",
                         file=str(outdir))
    results = simulate(scenario, seed=args.seed, progress=not args.quiet)
    written = results.save(outdir, plots=not args.no_plots)
    if not args.quiet:
        print(summary(results))
        figure = {".png", ".svg"}
        data = [p.name for p in written if p.suffix not in figure]
        figures = sorted({p.stem for p in written if p.suffix in figure})
        print(f"\nwrote {', '.join(data)} to {outdir}")
        if figures:
            print(f"figures (png, svg): {', '.join(figures)}")
    return 0


def _cmd_validate(args) -> int:
    from .scenario import load_scenario, variants_of

    for path in args.scenarios:
        sc = load_scenario(path, overrides=args.set)
        _warn(sc)
        print(f"{path}: ok ({sc.name}, {len(variants_of(sc))} variant(s))")
    return 0


def _cmd_schema(args) -> int:
    from .scenario import Scenario

    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ecsnetsim scenario (version 1)"
    print(json.dumps(schema, indent=2))
    return 0


def _cmd_instance_types(args) -> int:
    from . import catalog
    from .control import trunking

    table = catalog.trunking_table()
    types = catalog.match(args.pattern) if args.pattern else catalog.all_types()
    if not types:
        raise InputError(f"no instance type matches {args.pattern!r}")
    print(f"{'type':<22}{'vCPU':>5}{'MiB':>9}{'ENIs':>6}{'IPv4/ENI':>10}"
          f"{'awsvpc tasks':>14}{'with trunking':>15}  note")
    for t in types:
        trunk = "-" if t.trunk_tasks is None else str(t.trunk_tasks)
        note = t.trunk_note or ("" if t.name in table else
                                f"not in ECS's trunking table of {trunking.TABLE_DATE}")
        print(f"{t.name:<22}{t.vcpus:>5}{t.memory_mib:>9}{t.max_enis:>6}{t.ipv4_per_eni:>10}"
              f"{t.awsvpc_tasks_without_trunking:>14}{trunk:>15}  {note}")
    print(f"\n{len(types)} type(s). ENIs: {catalog.CATALOG_SOURCE}. "
          f"Trunking: {catalog.TRUNKING_SOURCE}.")
    return 0


def _cmd_plot(args) -> int:
    from .results import Results

    results_dir = Path(args.results_dir)
    if not (results_dir / "results.json").is_file():
        raise InputError("no results.json here; expected the OUTDIR of 'ecsnetsim run'",
                         file=str(results_dir))
    written = Results.load(results_dir).save_figures(Path(args.output or results_dir))
    for p in written:
        print(p)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ecsnetsim", description="Simulate Amazon ECS task network modes on EC2.")
    p.add_argument("--version", action="version", version=f"ecsnetsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a scenario and write result files")
    r.add_argument("scenario")
    r.add_argument("-o", "--output", help="output directory (default results/<name>)")
    r.add_argument("--seed", type=_seed, help="override the scenario's seed")
    r.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field, e.g. services[0].desired_count=8 (repeatable)")
    r.add_argument("--quiet", action="store_true", help="print nothing on success")
    r.add_argument("--no-plots", action="store_true",
                   help="write the result files only, no figures")
    r.set_defaults(func=_cmd_run)

    v = sub.add_parser("validate", help="check scenario files without running them")
    v.add_argument("scenarios", nargs="+")
    v.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    v.set_defaults(func=_cmd_validate)

    pl = sub.add_parser("plot", help="regenerate plots from result files")
    pl.add_argument("results_dir")
    pl.add_argument("-o", "--output")
    pl.set_defaults(func=_cmd_plot)

    it = sub.add_parser("instance-types",
                        help="ENIs, IPs per ENI and awsvpc task limits of EC2 types")
    it.add_argument("pattern", nargs="?", help="glob or family, e.g. c5 or 'm6i.*'")
    it.set_defaults(func=_cmd_instance_types)

    m = sub.add_parser("modes", help="where ECS allows each network mode (Linux/Windows EC2, "
                                      "Fargate)")
    m.set_defaults(func=_cmd_modes)

    s = sub.add_parser("schema", help="print the JSON Schema of the scenario format")
    s.set_defaults(func=_cmd_schema)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"ecsnetsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ecsnetsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal error: say so plainly, keep the traceback short
        import traceback

        traceback.print_exc()
        print(f"ecsnetsim: internal error: {exc!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
