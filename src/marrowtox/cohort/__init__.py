"""Cohort statistics (issue 19): marker x window x endpoint associations, marrow-plasma vs
blood-count correlations, overall survival, NRM with relapse as competing risk, Cox.

Modules: censored (lab values with "<LLOQ"-type censoring and how they enter each
statistic), windows (analysis windows anchored to infusion or events), associations,
survival, commands (`marrowtox cohort-stats`). Submodules are imported where used, so
that `marrowtox <any command>` starts fast.
"""
