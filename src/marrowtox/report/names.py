"""How patients and samples are named in a report, with or without pseudonymisation.

Every string a report shows about a patient or sample (headings, table cells, figure
titles, legends, alt text) goes through one `Names` object, so switching the
`pseudonymise` option cannot miss a place: with it on, a sample is named by what it is
("scRNA BL day -7"), never by its id, and free text taken from result tables (the
`missing` column names samples, for instance) is scrubbed of every known id.
"""

from __future__ import annotations

import re

import pandas as pd

from marrowtox.layout import report_stem
from marrowtox.pseudonym import pseudonym

__all__ = ["ASSAY", "Names", "pseudonym"]

ASSAY = {"scrna": "scRNA", "dna": "DNA"}


class Names:
    """Labels for one report: the real ids, or pseudonyms when `pseudonymise` is set."""

    def __init__(self, samples: pd.DataFrame, pseudonymise: bool) -> None:
        self.pseudonymise = pseudonymise
        self.patients = sorted(str(p) for p in samples["patient"].unique())
        self._patient = {
            p: (pseudonym(p, self.patients) if pseudonymise else p) for p in self.patients
        }
        self._sample: dict[str, str] = {}
        for _, g in samples.groupby("patient", sort=True):
            seen: dict[str, int] = {}
            for s, a, t, d in g.sort_values(["day", "assay", "sample"])[
                ["sample", "assay", "timepoint", "day"]
            ].itertuples(index=False):
                base = f"{ASSAY.get(str(a), str(a))} {t} day {d}"
                seen[base] = seen.get(base, 0) + 1
                # two samples of one patient, assay and day: number them, never fall back to ids
                pseudo = base if seen[base] == 1 else f"{base} #{seen[base]}"
                self._sample[str(s)] = pseudo if pseudonymise else str(s)
        self._short = {
            str(s): f"{t} day {d}"
            for s, t, d in samples[["sample", "timepoint", "day"]].itertuples(index=False)
        }
        ids = [*self._sample, *self._patient]
        # longest first: "P05_D28_sc" must be replaced before "P05"
        self._pattern = (
            re.compile("|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)))
            if ids
            else None
        )

    def patient(self, patient: str) -> str:
        return self._patient.get(str(patient), str(patient))

    def sample(self, sample: str) -> str:
        """Sample label for tables and legends (the id unless pseudonymised)."""
        return self._sample.get(str(sample), str(sample))

    def short(self, sample: str) -> str:
        """Timepoint and day only ("BL day -7"): never an id, in either mode."""
        return self._short.get(str(sample), "unknown timepoint")

    def timepoint(self, sample: str) -> str:
        """Short label without any id ("D28 day 28"), for crowded figure legends."""
        if not self.pseudonymise and str(sample) in self._short:
            return f"{sample} ({self._short[str(sample)]})"
        return self._short.get(str(sample), self.sample(sample))

    def scrub(self, text: object) -> str:
        """Free text with every known id replaced by its label (identity if not pseudonymised)."""
        s = "" if text is None or (isinstance(text, float) and text != text) else str(text)
        if not self.pseudonymise or self._pattern is None:
            return s
        labels = {**self._sample, **self._patient}
        return self._pattern.sub(lambda m: labels[m.group(0)], s)

    def file_stem(self, patient: str) -> str:
        """File name stem of a patient's report: "patient_005" when pseudonymised
        (marrowtox.layout.report_stem: the same stem the workflow's targets use)."""
        return report_stem(str(patient), self.patients, self.pseudonymise)

    def patient_of_stem(self, stem: str) -> str:
        """The patient a report file stem names (the inverse of `file_stem`)."""
        if not self.pseudonymise:
            return str(stem)
        by_stem = {self.file_stem(p): p for p in self.patients}
        if stem in by_stem:
            return by_stem[stem]
        if stem in self.patients:
            return stem  # called with the id itself (the `marrowtox report-patient` CLI)
        raise KeyError(
            f"no patient with report file name {stem!r}; expected one of {sorted(by_stem)}"
        )
