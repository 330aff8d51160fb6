"""The training system: Craftax envs, replay, the compiled collect/update loop, checkpoints,
logs, evaluation and the train-ratio schedule, around any learner (reimpl/train/learner.py).
`python -m reimpl.train` runs it (__main__.py; the run itself is run.py).

Dependency rule: reimpl.train imports the agent (reimpl.agent, reimpl.config, ...); the agent
never imports reimpl.train.
"""
