"""Speed of the reimpl against the official agent: `python -m benchmarks` (see BENCHMARKS.md)."""
