"""Inflammation and T-cell program signatures: per-cell scores and their summary by cell
type against the baseline marrow (Hallmark sets, curated CAR T programs)."""
