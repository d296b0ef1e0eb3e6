# clonal branch rules
