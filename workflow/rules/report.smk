# report branch rules
