"""`marrowtox cohort-stats`: associations, correlations and survival tables of a cohort."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the handler: --help stays fast
    import pandas as pd

    from marrowtox.cohort.survival import CoxSpec
    from marrowtox.cohort.windows import Window


def register(sub: argparse._SubParsersAction) -> None:
    from marrowtox.settings import add_schema_options

    p = sub.add_parser(
        "cohort-stats",
        help="marker x window x endpoint AUC/Mann-Whitney/BH, marrow-plasma correlations, "
        "OS, NRM (competing risks) and Cox",
    )
    p.add_argument(
        "--labs",
        type=Path,
        required=True,
        help="long labs table: patient, day, analyte, value, unit [, specimen, lloq, uloq]; "
        "values may be censored ('<5', '>1000', '<LLOQ' with an lloq column)",
    )
    p.add_argument("--events", type=Path, required=True, help="events.tsv [, cause on death rows]")
    p.add_argument(
        "--scores",
        type=Path,
        help="per-patient scores (e.g. results/clinical/cohort.tsv): icaht_early_grade, "
        "icaht_late_grade, easix_baseline, car_hematotox_score ...",
    )
    p.add_argument("--panel", type=Path, help="biomarker panel TSV (resources/biomarkers.tsv)")
    p.add_argument("--seed", type=int, default=1, help="bootstrap seed (default 1)")
    p.add_argument(
        "--windows",
        type=Path,
        help="YAML: name -> {anchor, days: [first, last]} (default: config.cohort.windows of "
        "the schema)",
    )
    # every other setting from workflow/schemas/config.cohort.schema.yaml
    add_schema_options(p, "cohort", skip=("windows",))
    p.add_argument("--out-associations", type=Path, required=True)
    p.add_argument("--out-correlations", type=Path, required=True)
    p.add_argument("--out-survival", type=Path, required=True)
    p.add_argument(
        "--out-roc",
        type=Path,
        help="ROC points of the top --roc-markers markers (results/cohort/roc.tsv)",
    )
    p.add_argument(
        "--out-curves",
        type=Path,
        help="Kaplan-Meier and cumulative-incidence curves with numbers at risk "
        "(results/cohort/survival_curves.tsv)",
    )
    p.set_defaults(func=run)


def parse_cox(text: str, windows: set[str], scores_window: str) -> CoxSpec:
    """'il6@baseline', 'il6@baseline@serum', 'easix_baseline', 'car_hematotox_score:linear'."""
    from marrowtox.cohort.censored import SPECIMENS
    from marrowtox.cohort.survival import CoxSpec
    from marrowtox.errors import InputError

    body, _, scale = text.partition(":")
    if scale not in ("", "linear", "log2"):
        raise InputError(f"--cox {text!r}: unknown scale {scale!r}", expected="':linear' or none")
    parts = body.split("@")
    if len(parts) == 1:
        marker, window, specimen = parts[0], scores_window, None
    elif len(parts) in (2, 3):
        marker, window = parts[0], parts[1]
        specimen = parts[2] if len(parts) == 3 else None
        if window not in windows:
            raise InputError(
                f"--cox {text!r}: unknown window {window!r}",
                expected="one of " + ", ".join(sorted(windows)),
            )
        if specimen is not None and specimen not in (*SPECIMENS, "derived"):
            raise InputError(
                f"--cox {text!r}: unknown specimen {specimen!r}",
                expected="one of " + ", ".join(SPECIMENS),
            )
    else:
        raise InputError(f"--cox {text!r}", expected="analyte@window[@specimen] or a scores column")
    if not marker:
        raise InputError(f"--cox {text!r}: empty marker", expected="analyte@window")
    return CoxSpec(marker, window, specimen, log2=scale != "linear")


def check_settings(a: argparse.Namespace, windows_config: dict | None = None) -> None:
    """The options against workflow/schemas/config.cohort.schema.yaml (the limits live
    there, not here); a bad one is an InputError naming the option or config key."""
    import jsonschema

    from marrowtox.errors import InputError
    from marrowtox.samplesheet import load_schema
    from marrowtox.settings import options_section

    schema = load_schema("config.cohort.schema.yaml")
    settings = options_section(a, "cohort")
    settings.pop("windows", None)  # --windows is a file; its content is checked on reading
    times = []
    for t in a.times:
        try:
            times.append(float(t))
        except (TypeError, ValueError):
            raise InputError(f"--times {t!r}", expected="days as numbers, e.g. 30 90 365") from None
    settings["times"] = times
    if windows_config is not None:
        settings["windows"] = windows_config
    validator = jsonschema.Draft202012Validator(schema)
    for err in sorted(validator.iter_errors(settings), key=lambda e: list(e.path)):
        key = str(err.path[0]) if err.path else ""
        where = (
            "config.cohort." + ".".join(str(k) for k in err.path)
            if key == "windows"
            else "--" + key.replace("_", "-")
        )
        raise InputError(
            f"{where}: {err.message}", expected="see workflow/schemas/config.cohort.schema.yaml"
        )


def check_tables(labs: Path, events: Path, panel: Path) -> None:
    """The labs and events checks of `marrowtox validate` and the workflow's pre-flight
    (schema of every cell, look-alike characters, analytes, units, censored values,
    plausible values and distributions, grades, outcomes), so that `cohort-stats` run on
    its own refuses what the workflow refuses, before any work. (The check that every
    patient is in the sample sheet needs a sample sheet: not here.)"""
    from marrowtox.clinical.events import validate_events
    from marrowtox.clinical.units import validate_labs
    from marrowtox.samplesheet import load_schema, read_table

    validate_labs(read_table(labs, load_schema("labs.schema.yaml"), "labs"), labs, panel)
    validate_events(read_table(events, load_schema("events.schema.yaml"), "events"), events)


@dataclass(frozen=True)
class CohortInputs:
    """The cohort statistics' inputs, every one read and checked (see `read_inputs`)."""

    panel: pd.DataFrame  # resources/biomarkers.tsv or the user's panel
    windows: list[Window]
    cox_specs: list[CoxSpec]
    values: pd.DataFrame  # one value per patient, marker, window
    events: pd.DataFrame
    scores: pd.DataFrame | None  # scores.tsv, when given


def read_inputs(a: argparse.Namespace, windows_config: dict | None = None) -> CohortInputs:
    """Every input read and checked before any statistic is computed."""
    import pandas as pd

    from marrowtox.cohort import associations as assoc
    from marrowtox.cohort.censored import PANEL, load_panel, read_labs
    from marrowtox.cohort.windows import (
        load_windows,
        parse_windows,
        read_events,
        read_scores,
        window_values,
    )
    from marrowtox.errors import InputError

    check_settings(a, windows_config)
    a.times = [float(t) for t in a.times]
    a.cox = list(a.cox)
    check_tables(a.labs, a.events, a.panel or PANEL)
    panel = load_panel(a.panel or PANEL)
    if windows_config is not None:
        windows = parse_windows(windows_config, "config.cohort.windows")
    else:
        windows = load_windows(a.windows)
    names = {w.name for w in windows}
    cox_specs = [parse_cox(t, names, assoc.SCORES_WINDOW) for t in a.cox]
    labs = read_labs(a.labs, a.panel or PANEL)
    events = read_events(a.events)
    numeric = (*assoc.SCORE_MARKERS, *(c for c, _ in assoc.SCORE_ENDPOINTS.values()))
    scores = read_scores(a.scores, numeric) if a.scores else None
    known = set(events["patient"]) | (set(scores["patient"]) if scores is not None else set())
    if labs.empty or not set(labs["patient"]) & known:
        raise InputError(
            "no patient of the labs table appears in the events or scores table",
            file=a.labs,
            column="patient",
            expected="the same patient ids in labs, events and scores",
        )
    values = window_values(labs, events, windows, panel)
    if scores is not None:
        values = pd.concat([values, assoc.score_values(scores)], ignore_index=True)
    return CohortInputs(panel, windows, cox_specs, values, events, scores)


def _hematotox_strata(scores: pd.DataFrame | None) -> pd.Series | None:
    """CAR-HEMATOTOX high/low per patient (the published cut-off), when scored."""
    import pandas as pd

    from marrowtox.cohort import associations as assoc

    if scores is None or "car_hematotox_score" not in scores.columns:
        return None
    c = next(c for c in assoc.CUTOFFS if c.marker == "car_hematotox_score")
    s = scores["car_hematotox_score"].dropna()
    return pd.Series(["high" if v >= c.threshold else "low" for v in s], index=s.index)


def _survival(
    a: argparse.Namespace, inputs: CohortInputs, strata: pd.Series | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The Cox/KM table and, when asked for, the survival curves."""
    from marrowtox.cohort.survival import survival_curves, survival_table

    panel = inputs.panel
    surv = survival_table(
        inputs.events,
        inputs.values,
        inputs.cox_specs,
        times=a.times,
        min_events=a.min_events,
        conf_level=a.conf_level,
        strata=strata,
        strata_name="car_hematotox_risk",
        default_specimen=dict(zip(panel["name"], panel["specimen_default"], strict=True)),
    )
    if not a.out_curves:
        return surv, None
    curves = survival_curves(
        inputs.events,
        times=a.times,
        min_events=a.min_events,
        conf_level=a.conf_level,
        strata=strata,
        strata_name="car_hematotox_risk",
    )
    return surv, curves


def run(a: argparse.Namespace, windows_config: dict | None = None) -> int:
    from marrowtox.atomic import write_tsv
    from marrowtox.cohort import associations as assoc

    inputs = read_inputs(a, windows_config)
    values = inputs.values
    order = tuple(w.name for w in inputs.windows) + (assoc.SCORES_WINDOW,)
    endpoints = assoc.endpoint_table(inputs.events, inputs.scores)
    table = assoc.associations(
        values,
        endpoints,
        seed=a.seed,
        n_boot=a.n_boot,
        min_per_group=a.min_per_group,
        caveat_min_per_group=a.caveat_min_per_group,
        conf_level=a.conf_level,
        window_order=order,
    )
    corr = assoc.correlations(values, min_pairs=a.min_pairs, window_order=order)
    surv, curves = _survival(a, inputs, _hematotox_strata(inputs.scores))
    roc = assoc.roc_table(values, endpoints, table, a.roc_markers) if a.out_roc else None
    write_tsv(table, a.out_associations)
    write_tsv(corr, a.out_correlations)
    write_tsv(surv, a.out_survival)
    if roc is not None:
        write_tsv(roc, a.out_roc)
    if curves is not None:
        write_tsv(curves, a.out_curves)
    n_stat = int(table["auc"].notna().sum())
    print(
        f"cohort-stats: {len(table)} association rows ({n_stat} with statistics), "
        f"{len(corr)} correlations, {len(surv)} survival rows"
    )
    return 0


def main(argv: list[str] | None = None, windows: dict | None = None) -> int:
    """Run `cohort-stats` on its own (the rule's script: `windows` is config.cohort.windows)."""
    from marrowtox.errors import InputError

    parser = argparse.ArgumentParser(prog="marrowtox")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    register(sub)
    args = parser.parse_args(["cohort-stats", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run(args, windows)
    except InputError as exc:
        print(f"marrowtox cohort-stats: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
