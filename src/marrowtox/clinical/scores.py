"""Per-patient clinical score table: ICAHT, CAR-HEMATOTOX, EASIX family, events, IEC-HS.

Every score is reported with the inputs it used or the reason it was not computed, so
an empty cell in the cohort table is always explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from marrowtox.atomic import write_tsv
from marrowtox.clinical import biomarkers, easix, hematotox, icaht, iec_hs
from marrowtox.clinical.events import max_grade
from marrowtox.layout import PATTERNS
from marrowtox.settings import section_defaults


def _default(key: str) -> Any:
    """A clinical setting's default as workflow/schemas/config.clinical.schema.yaml states it."""
    value = section_defaults("clinical")[key]
    return tuple(value) if isinstance(value, list) else value


COLUMNS = [
    "patient",
    "car_hematotox_score",
    "car_hematotox_risk",
    "car_hematotox_points",
    "car_hematotox_inputs",
    "car_hematotox_missing",
    "baseline_basis",
    "icaht_early_grade",
    "icaht_late_grade",
    "days_anc_le_500_d0_30",
    "days_anc_le_100_d0_30",
    "days_anc_le_500_d0_60",
    "days_anc_le_100_d0_60",
    "longest_anc_le_500",
    "longest_anc_le_100",
    "anc_recovery_day",
    "anc_le_1000_day21",
    "late_window_end",
    "late_confirmed_nadir",
    "icaht_notes",
    "easix_baseline",
    "log2_easix_baseline",
    "m_easix_baseline",
    "log2_m_easix_baseline",
    "s_easix_baseline",
    "log2_s_easix_baseline",
    "easix_baseline_above_4.67",
    *[f"{k}_d{d}" for d in (0, 1, 2, 3) for k in ("easix", "m_easix", "s_easix")],
    "crs_max_grade",
    "icans_max_grade",
    "iec_hs_flag",
    "iec_hs_reason",
    "status",
]


@dataclass(frozen=True)
class ClinicalParams:
    """The clinical config section (defaults from its schema)."""

    baseline_window: tuple[int, int] = field(default_factory=lambda: _default("baseline_window"))
    baseline_lookback: int = field(default_factory=lambda: _default("baseline_lookback"))
    ldh_uln: float = field(default_factory=lambda: _default("ldh_uln"))
    transaminase_uln: float = field(default_factory=lambda: _default("transaminase_uln"))
    ferritin_uln: float = field(default_factory=lambda: _default("ferritin_uln"))
    cytopenia_plt: float = field(default_factory=lambda: _default("iec_hs_cytopenia_plt"))
    cytopenia_anc: float = field(default_factory=lambda: _default("iec_hs_cytopenia_anc"))

    @classmethod
    def from_config(cls, clinical: dict[str, Any]) -> ClinicalParams:
        """From config['clinical'] (missing keys take the schema's defaults)."""
        c = {**section_defaults("clinical"), **(clinical or {})}
        return cls(
            tuple(c["baseline_window"]),
            int(c["baseline_lookback"]),
            float(c["ldh_uln"]),
            float(c["transaminase_uln"]),
            float(c["ferritin_uln"]),
            float(c["iec_hs_cytopenia_plt"]),
            float(c["iec_hs_cytopenia_anc"]),
        )

    def iec_hs_limits(self) -> iec_hs.Limits:
        """The laboratory limits of the IEC-HS prompt."""
        return iec_hs.Limits(
            self.ldh_uln,
            self.transaminase_uln,
            self.ferritin_uln,
            self.cytopenia_plt,
            self.cytopenia_anc,
        )


def patient_scores(
    patient: str, labs: pd.DataFrame | None, events: pd.DataFrame | None, params: ClinicalParams
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """One row of scores, the daily ANC grid and the biomarker summary of one patient."""
    row: dict = {c: None for c in COLUMNS}
    row["patient"] = patient
    empty_grid = pd.DataFrame(columns=["day", "anc", "interpolated", "missing"])
    ev = events if events is not None else None
    # A patient with no row in events.tsv has no recorded events: CRS/ICANS stay missing
    # ("not recorded" in the report), never grade 0.
    if ev is not None and not ev.empty:
        row["crs_max_grade"] = max_grade(ev, "crs")
        row["icans_max_grade"] = max_grade(ev, "icans")
    if labs is None or labs.empty:
        row["status"] = "no labs for this patient: clinical scores not measured"
        row["car_hematotox_missing"] = ",".join(hematotox.INPUTS)
        return row, empty_grid, pd.DataFrame(columns=biomarkers.COLUMNS)
    status = []
    # CAR-HEMATOTOX and baseline EASIX: values before lymphodepletion
    # (clinical-definitions.md, CAR-HEMATOTOX and EASIX family)
    pre = hematotox.pre_lymphodepletion(ev, params.baseline_window, params.baseline_lookback)
    row["baseline_basis"] = pre.text()
    ht = hematotox.score(labs, pre.window)
    row["car_hematotox_score"], row["car_hematotox_risk"] = ht.score, ht.risk
    row["car_hematotox_points"] = ";".join(f"{k}={v}" for k, v in ht.points.items())
    row["car_hematotox_inputs"] = ";".join(f"{k}={v}" for k, v in ht.inputs.items())
    row["car_hematotox_missing"] = ",".join(ht.missing)
    if ht.missing:
        status.append(
            f"CAR-HEMATOTOX not computed: missing {', '.join(ht.missing)} in day "
            f"{pre.window[0]}..{pre.window[1]} (before lymphodepletion)"
        )
    anc = labs[labs["analyte"] == "anc"][["day", "value"]]
    if anc.empty:
        status.append("ICAHT not computed: no ANC values")
        grid = empty_grid
    else:
        res, grid = icaht.grade(anc, ev[["day", "event"]] if ev is not None else None)
        row.update(
            {
                "icaht_early_grade": res.early_grade,
                "icaht_late_grade": res.late_grade,
                "days_anc_le_500_d0_30": res.days_le500_d0_30,
                "days_anc_le_100_d0_30": res.days_le100_d0_30,
                "days_anc_le_500_d0_60": res.days_le500_d0_60,
                "days_anc_le_100_d0_60": res.days_le100_d0_60,
                "longest_anc_le_500": res.longest_le500,
                "longest_anc_le_100": res.longest_le100,
                "anc_recovery_day": res.recovery_day,
                "anc_le_1000_day21": res.anc_le1000_day21,
                "late_window_end": res.late_window_end,
                "late_confirmed_nadir": res.late_confirmed_nadir,
                "icaht_notes": "; ".join(res.notes),
            }
        )
    base = easix.at(labs, pre.window)
    for k in ("easix", "m_easix", "s_easix"):
        row[f"{k}_baseline"] = base[k]
        row[f"log2_{k}_baseline"] = base[f"log2_{k}"]
    if base["easix"] is not None:
        row["easix_baseline_above_4.67"] = base["easix"] > easix.EASIX_CUTOFF
    else:
        status.append(
            "EASIX baseline not computed: LDH, creatinine or platelets missing in day "
            f"{pre.window[0]}..{pre.window[1]} (before lymphodepletion)"
        )
    for d in (0, 1, 2, 3):
        v = easix.at(labs, (d, d))
        for k in ("easix", "m_easix", "s_easix"):
            row[f"{k}_d{d}"] = v[k]
    # timing against the CRS course of events.tsv (clinical-definitions.md, IEC-HS)
    row["iec_hs_flag"], row["iec_hs_reason"] = iec_hs.assess(labs, ev, params.iec_hs_limits())
    if ev is None:
        status.append("no events table: CRS/ICANS grades not measured")
    row["status"] = "; ".join(status) if status else "complete"
    return row, grid, biomarkers.trajectories(patient, labs)


def run_clinical(
    patients: list[str],
    labs: pd.DataFrame | None,
    events: pd.DataFrame | None,
    out_dir: str | Path,
    params: ClinicalParams,
    write: str = "all",
) -> pd.DataFrame:
    """Write per-patient scores, grids, biomarkers, the cohort table and normalised labs.

    write: "all"; "patients" (the per-patient files only) or "cohort" (cohort.tsv and
    the normalised labs only). The workflow writes the per-patient files in parts of
    report.table_part_patients patients and the cohort files in one small job: a single
    job with three outputs per patient made Snakemake match every requested file
    against every output of the job, quadratic in patients (docs/hpc.md). The scores
    are cheap, so the cohort job computes them again rather than reading the parts."""
    if write not in ("all", "patients", "cohort"):
        raise ValueError(f"write={write!r}; expected all, patients or cohort")
    out = Path(out_dir)
    rows = []
    # grouped once: a per-patient filter of the whole table is quadratic in patients
    by_lab = dict(tuple(labs.groupby("patient", sort=False))) if labs is not None else {}
    by_event = dict(tuple(events.groupby("patient", sort=False))) if events is not None else {}
    for p in patients:
        pl = by_lab.get(p, labs.iloc[0:0]) if labs is not None else None
        pe = by_event.get(p, events.iloc[0:0]) if events is not None else None
        row, grid, bio = patient_scores(p, pl, pe, params)
        rows.append(row)
        if write == "cohort":
            continue
        write_tsv(pd.DataFrame([row], columns=COLUMNS), out / layout_name("scores", patient=p))
        write_tsv(grid, out / layout_name("anc_grid", patient=p))
        write_tsv(bio, out / layout_name("biomarkers", patient=p))
    cohort = pd.DataFrame(rows, columns=COLUMNS)
    if write == "patients":
        return cohort
    write_tsv(cohort, out / layout_name("clinical_cohort"))
    norm = (
        labs
        if labs is not None
        else pd.DataFrame(columns=["patient", "day", "analyte", "value", "unit"])
    )
    write_tsv(norm, out / layout_name("labs"))
    return cohort


def layout_name(name: str, **wildcards: str) -> str:
    """File name of a clinical output within the --out folder (marrowtox.layout)."""
    return PATTERNS[name].format(**wildcards).rsplit("/", 1)[1]
