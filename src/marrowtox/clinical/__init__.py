"""Clinical scores: ICAHT, CAR-HEMATOTOX, EASIX family, biomarkers, events (issue 4).

Submodules are imported where used, so that `marrowtox <any command>` starts fast.
"""
