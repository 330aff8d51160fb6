"""Learning parity: the reimpl and the official agent trained in the same loop (reimpl.train with
each learner), with the same settings and seeds, their checkpoints evaluated on the same
episodes as `reimpl.evaluate`, and a report (LEARNING.md, a PNG plot and its table).
`python -m benchmarks.learning --help`.
"""
