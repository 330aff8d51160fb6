"""Worked examples of targets, installed with the suite: toy_target.py wraps the small,
deliberately different DreamerV3 of toy_agent.py (docs/TARGETS.md, "Worked example")."""
