"""The demo cohort's plan: per-patient planted truth shared by every demo generator.

The scRNA, DNA and clinical generators each read this one table, so the marrow
state (CAR T fraction, inflammation, HSPC depletion) is planted in line with the
blood-count course (ICAHT grade) and the baseline risk (CAR-HEMATOTOX), as in the
seed study: more activated CAR T cells in the marrow go with an inflamed, depleted
HSPC compartment and worse hematotoxicity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

#: Marrow timepoints: label -> day relative to infusion.
TIMEPOINT_DAYS: dict[str, int] = {"BL": -7, "D28": 28, "D90": 90}


@dataclass(frozen=True)
class PatientPlan:
    patient: str
    product: str  # commercial product name, for the report header
    car_construct: str  # key in resources/car_constructs.yaml
    timepoints: tuple[str, ...]  # marrow timepoints sampled (scRNA and DNA)
    car_t_pct: float  # planted CAR T % of all marrow cells at day +28
    car_activation: float  # 0-1 strength of the CAR T activation / IFN-gamma program
    inflammation: float  # 0-1 IFN response of the marrow (HSPC in particular) at day +28
    hspc_depletion: float  # 0-1 fraction of HSPC lost at day +28 relative to baseline
    icaht_early_grade: int  # planted early ICAHT grade (0-4)
    icaht_late_grade: int  # planted late ICAHT grade (0-4)
    hematotox_risk: str  # planted CAR-HEMATOTOX group ("low" or "high")
    batch: str = "b1"
    extra: dict[str, str] = field(default_factory=dict)

    def as_row(self) -> dict[str, object]:
        row = asdict(self)
        row["timepoints"] = ",".join(self.timepoints)
        row.pop("extra")
        return row


COHORT: tuple[PatientPlan, ...] = (
    PatientPlan("P01", "tisa-cel", "fmc63_41bbz", ("BL", "D28"), 0.6, 0.10, 0.05, 0.05, 0, 0, "low", "b1"),
    PatientPlan("P02", "axi-cel", "fmc63_cd28z", ("BL", "D28"), 2.0, 0.30, 0.20, 0.15, 1, 0, "low", "b1"),
    PatientPlan("P03", "tisa-cel", "fmc63_41bbz", ("BL", "D28", "D90"), 4.0, 0.45, 0.40, 0.30, 2, 1, "low", "b2"),
    PatientPlan("P04", "axi-cel", "fmc63_cd28z", ("BL", "D28"), 7.0, 0.60, 0.55, 0.45, 3, 0, "high", "b2"),
    PatientPlan("P05", "axi-cel", "fmc63_cd28z", ("BL", "D28", "D90"), 14.0, 0.95, 0.95, 0.75, 4, 3, "high", "b3"),
    PatientPlan("P06", "cilta-cel", "bcma_41bbz", ("BL", "D28", "D90"), 10.0, 0.80, 0.75, 0.60, 3, 2, "high", "b3"),
)


def sample_id(patient: str, timepoint: str, assay: str) -> str:
    """Demo sample id, e.g. P01_D28_sc or P01_BL_dna."""
    return f"{patient}_{timepoint}_{'sc' if assay == 'scrna' else 'dna'}"


def rng(seed: int, stream: int) -> np.random.Generator:
    """Independent, reproducible random stream per generator (0 sc, 1 dna, 2 clinical)."""
    return np.random.default_rng([seed, stream])
