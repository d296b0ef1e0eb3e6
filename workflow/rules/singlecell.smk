# singlecell branch rules
