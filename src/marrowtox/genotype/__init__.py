"""Clone-to-cell genotyping: which marrow cell types carry each clonal-hematopoiesis clone.

Bulk panel sequencing says a clone exists and how large it is; only per-cell reads say
whether it is myeloid-restricted or also in lymphocytes, and whether the HSPC that the
marrow findings are about belong to it. Sites come from the CH calls or any VCF, reads
from the single-cell BAM, cell types from annotation.
"""
