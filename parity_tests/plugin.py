"""The parity pytest plugin: --target, --registry, --parity-report, the `parity` and `target`
fixtures, the suite's markers and the summary a run ends with. A pytest11 entry point of the
installed package (pyproject.toml), so `pytest --pyargs parity_tests --target ...` works from
any folder of the environment; it does nothing to a pytest run that runs no check."""

from __future__ import annotations

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("parity")
    group.addoption("--target", default=None,
                    help="implementation to test, 'package.module:factory' (default: reimpl)")
    group.addoption("--registry", default=None,
                    help="registry of known differences (default: parity_tests/registry.toml "
                         "for the reimpl target, none for others)")
    group.addoption("--parity-report", default=None, metavar="PATH",
                    help="write the findings report (PARITY.md) to PATH after the run")
    group.addoption("--mutant", default=None, metavar="NAME",
                    help="plant one mutant of parity_tests/mutants/catalogue.py into the "
                         "reimpl for this run (see `python -m parity_tests.mutants`)")
    group.addoption("--findings-json", default=None, metavar="PATH",
                    help="write every check's record as JSON to PATH after the run")
    group.addoption("--record-calls", default=None, metavar="PATH",
                    help="write which checks call the attributes the mutants replace to PATH "
                         "(parity_tests/mutants/calls.py; the mutant runner's --select)")
    group.addoption("--checks-from", default=None, metavar="PATH",
                    help="run only the checks whose node ids PATH lists, one per line")


def _target_spec(config) -> str:
    from parity_tests.target import DEFAULT_TARGET

    return config.getoption("--target") or DEFAULT_TARGET


def _plant(name: str) -> None:
    from parity_tests.mutants.torch_catalogue import EVERY_MUTANT

    if name not in EVERY_MUTANT:
        raise pytest.UsageError(f"--mutant {name!r} is not in the catalogue; one of "
                                f"{', '.join(EVERY_MUTANT)} (python -m parity_tests.mutants "
                                "--help)")
    EVERY_MUTANT[name].plant(setattr)


def _load_target(spec: str):
    """The target named by --target, built now: a wrong name would otherwise be a setup error
    in every test that asks for it, while the tests that do not would still pass."""
    from parity_tests.target import load_target

    try:
        return load_target(spec)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    except ImportError as error:
        raise pytest.UsageError(f"--target {spec!r}: cannot import it ({error})") from None
    except Exception as error:  # the factory is the caller's code: say where it failed
        module, _, factory = spec.partition(":")
        raise pytest.UsageError(
            f"--target {spec!r}: its factory raised {type(error).__name__}: {error} (for the "
            f"traceback: python -c 'import {module}; {module}.{factory}()')") from None


MARKERS = (
    "slow: long-running checks (size presets, long training); run with `-m slow`",
    "gpu: needs an accelerator",
    "power: the suite's power measurements run by `make parity-report` even when slow",
)


def pytest_configure(config):
    from pathlib import Path

    from parity_tests import findings

    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if config.getoption("--mutant"):
        _plant(config.getoption("--mutant"))
    if config.getoption("--record-calls"):
        from parity_tests.mutants import calls
        from parity_tests.mutants.catalogue import MUTANTS

        attributes = {k: v for m in MUTANTS.values() for k, v in calls.planted(m.plant).items()}
        config._calls_recorder = calls.Recorder(attributes)
    spec = _target_spec(config)
    if config.getoption("--target") is not None:
        from parity_tests import session

        session.prepare()  # the target's module may import JAX
        config._parity_target = _load_target(spec)
    registry_path = config.getoption("--registry")
    if registry_path is None and config.getoption("--target") is None:
        registry_path = findings.DEFAULT_REGISTRY
    try:
        registry = findings.load_registry(Path(registry_path) if registry_path else None)
    except findings.RegistryError as error:
        raise pytest.UsageError(f"--registry: {error}") from None
    config._parity_recorder = findings.Recorder(registry=registry, target=spec)


def pytest_sessionfinish(session, exitstatus):
    recorder = getattr(session.config, "_parity_recorder", None)
    if recorder is None:
        return
    recording = getattr(session.config, "_calls_recorder", None)
    if recording is not None:
        from pathlib import Path

        recording.write(Path(session.config.getoption("--record-calls")))
    # A run of some checks cannot tell that a registered difference no longer reproduces.
    vanished = [] if session.config.getoption("--checks-from") else recorder.vanished()
    if vanished:
        print(f"\nregistered differences that no longer reproduce (mark them FIXED in the "
              f"registry): {', '.join(vanished)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    json_path = session.config.getoption("--findings-json")
    if json_path:
        from parity_tests import findings

        findings.write_json(recorder.records, json_path)
    path = session.config.getoption("--parity-report")
    if not path or not (recorder.records or recorder.sight):
        return
    from pathlib import Path

    from parity_tests import report

    text = report.render(recorder.records, recorder.registry, recorder.target, recorder.sight)
    old = Path(path).read_text() if Path(path).exists() else ""
    for name in report.MUTANT_SECTIONS:
        if report.section_of(old, name):
            text = report.with_section(text, report.section_of(old, name), name)
    Path(path).write_text(text)
    print(f"\nparity report written to {path} ({len(recorder.records)} checks)")


def pytest_terminal_summary(terminalreporter):
    recorder = getattr(terminalreporter.config, "_parity_recorder", None)
    if recorder is None or not recorder.records:
        return
    from parity_tests import summary

    terminalreporter.section(f"parity: {recorder.target}")
    for line in summary.render(recorder.records):
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(config, items):
    from parity_tests import composites

    items[:] = composites.parts_first(items)
    path = config.getoption("--checks-from")
    if not path:
        return
    from pathlib import Path

    wanted = set(Path(path).read_text().splitlines())  # ids may hold spaces
    config.hook.pytest_deselected(items=[i for i in items if i.nodeid not in wanted])
    items[:] = [i for i in items if i.nodeid in wanted]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    recording = getattr(item.config, "_calls_recorder", None)
    if recording is not None:
        recording.begin_check(item.nodeid)
    yield
    if recording is not None:
        recording.end_check(item.nodeid, item.fixturenames)


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    recording = getattr(request.config, "_calls_recorder", None)
    if recording is not None:
        recording.begin_fixture()
    yield
    if recording is not None:
        recording.end_fixture(fixturedef.argname)


@pytest.fixture(scope="session")
def parity(request):
    return request.config._parity_recorder


@pytest.fixture(scope="session")
def target(request):
    from parity_tests import declarations
    from parity_tests.target import load_target

    loaded = getattr(request.config, "_parity_target", None)
    loaded = loaded if loaded is not None else load_target(_target_spec(request.config))
    try:
        request.config._parity_recorder.absent = declarations.absent(loaded)
    except TypeError as error:
        pytest.fail(str(error), pytrace=False)
    return loaded


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    """A check of what the target declares absent has recorded its finding: it passes."""
    from parity_tests.findings import DeclaredAbsent

    try:
        return (yield)
    except DeclaredAbsent:
        return True
