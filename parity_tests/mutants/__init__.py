"""The mutant catalogue: planted mistakes the parity suite must catch (`python -m
parity_tests.mutants`)."""
