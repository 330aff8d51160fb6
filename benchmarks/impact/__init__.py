"""What a departure does to learning: the reimpl trained with one catalogue mutant planted
(parity_tests/mutants/catalogue.py) against the unmutated reimpl, in reimpl.train's compiled
loop with the same settings, seeds and evaluation episodes as `benchmarks.learning`; IMPACT.md
reports, per mutant, the difference of each early signal and of the evaluated return from the
unmutated runs, with its standard error. `python -m benchmarks.impact --help`.
"""
