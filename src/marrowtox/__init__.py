"""marrowtox: bone-marrow multi-omics after CAR T-cell therapy, linked to hematotoxicity."""

__version__ = "0.1.0"
