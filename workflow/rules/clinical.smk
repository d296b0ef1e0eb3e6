# clinical branch rules
