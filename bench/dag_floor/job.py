"""The script of bench/dag_floor/Snakefile's rules: never run (the bench only dry-runs)."""
