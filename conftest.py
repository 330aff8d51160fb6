"""Project-wide pytest setup (parity_tests/session.py) for this repository's own tests and the
suite; the suite's options and fixtures come from its plugin (parity_tests/plugin.py, a
pytest11 entry point of the installed package)."""

from parity_tests import session

session.prepare()  # before anything imports JAX, which reads these variables once

from parity_tests.session import _release_compiled_programs  # noqa: E402, F401
