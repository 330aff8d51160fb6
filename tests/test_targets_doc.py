"""docs/TARGETS.md is the one table of target pieces: every piece a parity test asks for is in
it, every piece in it is asked for by a test, and the default target provides exactly those.

Pure text and AST analysis (nothing is imported or compiled), so a renamed, added or dropped
piece fails here in a second, naming the offender and where it is used.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "TARGETS.md"
PARITY_TESTS = sorted((ROOT / "parity_tests").glob("test_*.py"))
DEFAULT_TARGET = ROOT / "parity_tests" / "targets" / "reimpl_target.py"
TOY_TARGET = ROOT / "parity_tests" / "examples" / "toy_target.py"
PROTOCOL = ROOT / "parity_tests" / "target.py"
DECLARATIONS = ROOT / "parity_tests" / "declarations.py"
NOT_PIECES = {"name"}  # a target's label in the report, not a compared piece
PIECES_HEADING = "## Pieces"
DECLARATIONS_HEADING = "## Declarations"


def _first_cells(heading: str) -> set[str]:
    """Names in the first cell of every table row of a section (a row may name two:
    "| `agent_losses`, `agent_grads` | ...")."""
    text = DOCS.read_text()
    start = text.find(f"\n{heading}\n")
    assert start >= 0, f"{DOCS.relative_to(ROOT)} has no '{heading}' section"
    section = text[start + 1 :].split("\n## ", 1)[0]
    cells = re.findall(r"^\|\s*(`[^|]*)\|", section, re.MULTILINE)
    return {name for cell in cells for name in re.findall(r"`(\w+)`", cell)}


def documented_pieces() -> set[str]:
    return _first_cells(PIECES_HEADING)


def documented_declarations() -> set[str]:
    return _first_cells(DECLARATIONS_HEADING)


def read_declarations() -> set[str]:
    """The `NAMES` tuple of parity_tests/declarations.py: what the suite reads."""
    tree = ast.parse(DECLARATIONS.read_text(), str(DECLARATIONS))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "NAMES"):
            return {element.value for element in node.value.elts}
    raise AssertionError(f"{DECLARATIONS.relative_to(ROOT)} has no module-level NAMES")


def _string_dicts(tree: ast.Module) -> dict[str, set[str]]:
    """Module-level `NAME = {...: "piece", ...}` dicts whose values are all strings, so a
    piece named through `PIECES[part]` counts as used."""
    found = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Dict)
            and all(
                isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.value.values
            )
        ):
            found[node.targets[0].id] = {v.value for v in node.value.values}
    return found


def _names(node: ast.expr, dicts: dict[str, set[str]]) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id in dicts
    ):
        return dicts[node.value.id]
    return set()


def _asks_target(call: ast.Call) -> bool:
    """`<anything>.piece(target, NAME, ...)` or `getattr(target, NAME, ...)`."""
    func = call.func
    named = (isinstance(func, ast.Attribute) and func.attr == "piece") or (
        isinstance(func, ast.Name) and func.id == "getattr"
    )
    return (
        named
        and len(call.args) >= 2
        and isinstance(call.args[0], ast.Name)
        and call.args[0].id == "target"
    )


def used_pieces() -> dict[str, set[str]]:
    """Piece -> the parity test files that ask the target for it."""
    used: dict[str, set[str]] = {}
    for path in PARITY_TESTS:
        tree = ast.parse(path.read_text(), str(path))
        dicts = _string_dicts(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _asks_target(node):
                for name in _names(node.args[1], dicts):
                    used.setdefault(name, set()).add(path.name)
    return used


def provided_pieces(path: Path) -> set[str]:
    """Keyword names of the calls in `make_target()` (a `SimpleNamespace(piece=...)`)."""
    tree = ast.parse(path.read_text(), str(path))
    factories = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "make_target"
    ]
    assert factories, f"{path.relative_to(ROOT)} has no top-level make_target()"
    names = {
        keyword.arg
        for node in ast.walk(factories[0])
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg is not None
    }
    assert names, f"{path.relative_to(ROOT)}: make_target() passes no keyword pieces"
    return names - NOT_PIECES - documented_declarations()


def _listed(names) -> str:
    return ", ".join(sorted(names))


def test_parser_finds_the_pieces():
    """Guards the other checks against passing on empty sets."""
    assert len(documented_pieces()) >= 20, _listed(documented_pieces())
    assert {"lambda_return", "imagination_loss", "agent_losses", "agent_grads"} <= set(
        used_pieces()
    ), _listed(used_pieces())


def test_every_piece_a_test_uses_is_documented():
    missing = {
        name: files for name, files in used_pieces().items() if name not in documented_pieces()
    }
    assert not missing, (
        f"pieces the parity tests ask for but {DOCS.relative_to(ROOT)} '{PIECES_HEADING}' does "
        "not document (add a table row with signature and official counterpart): "
        + "; ".join(f"{name} (used in {_listed(files)})" for name, files in sorted(missing.items()))
    )


def test_every_documented_piece_is_used_by_a_test():
    unused = documented_pieces() - set(used_pieces())
    assert not unused, (
        f"pieces documented in {DOCS.relative_to(ROOT)} that no parity_tests/test_*.py asks "
        f"for with parity.piece(target, NAME, ...) or getattr(target, NAME): {_listed(unused)} "
        "(remove the row, or fix the name)"
    )


def test_default_target_provides_every_documented_piece():
    missing = documented_pieces() - provided_pieces(DEFAULT_TARGET)
    assert not missing, (
        f"documented pieces the default target ({DEFAULT_TARGET.relative_to(ROOT)} "
        f"make_target) does not provide: {_listed(missing)}"
    )


def test_every_piece_the_default_target_provides_is_documented():
    extra = provided_pieces(DEFAULT_TARGET) - documented_pieces()
    assert not extra, (
        f"pieces {DEFAULT_TARGET.relative_to(ROOT)} make_target provides but "
        f"{DOCS.relative_to(ROOT)} does not document: {_listed(extra)}"
    )


def test_worked_example_provides_only_documented_pieces():
    extra = provided_pieces(TOY_TARGET) - documented_pieces()
    assert not extra, (
        f"pieces {TOY_TARGET.relative_to(ROOT)} provides but {DOCS.relative_to(ROOT)} does "
        f"not document: {_listed(extra)}"
    )


def test_protocol_module_points_to_the_one_table():
    docstring = ast.get_docstring(ast.parse(PROTOCOL.read_text())) or ""
    assert "docs/TARGETS.md" in docstring, f"{PROTOCOL.relative_to(ROOT)} must point to it"
    repeated = {name for name in documented_pieces() if re.search(rf"\b{name}\b", docstring)}
    assert not repeated, (
        f"{PROTOCOL.relative_to(ROOT)}'s docstring restates pieces of the table: "
        f"{_listed(repeated)} (point to docs/TARGETS.md instead)"
    )


def test_every_declaration_the_suite_reads_is_documented():
    """Declarations (not pieces: they say how a target's pieces are to be compared) are
    documented in their own section, and exactly those are read by the suite."""
    documented, read = documented_declarations(), read_declarations()
    assert documented == read, (
        f"{DOCS.relative_to(ROOT)} '{DECLARATIONS_HEADING}' documents {_listed(documented)}; "
        f"{DECLARATIONS.relative_to(ROOT)} NAMES reads {_listed(read)}")
    assert not documented & documented_pieces(), "a name is both a piece and a declaration"


def documented_rows() -> list[tuple[tuple[str, ...], str, set[str]]]:
    """Each row of the table: (the pieces it names, its '### ' section, the checks it names)."""
    text = DOCS.read_text()
    section_text = text[text.find(f"\n{PIECES_HEADING}\n") + 1:].split("\n## ", 1)[0]
    rows, section = [], ""
    for line in section_text.splitlines():
        if line.startswith("### "):
            section = line[4:].strip()
        # cells split at the pipes outside code spans (`"enc" \| "dyn"` is one cell)
        cells = [c.strip() for c in re.split(r"\|(?=(?:[^`]*`[^`]*`)*[^`]*$)",
                                             line.strip().strip("|"))]
        if line.startswith("| `") and len(cells) == 4:
            rows.append((tuple(re.findall(r"`(\w+)`", cells[0])), section,
                         set(re.findall(r"`([^`]+)`", cells[2]))))
    return rows


def test_the_scaffold_s_pieces_are_the_documented_table():
    """parity_tests/pieces.py (what `python -m parity_tests init` and `pieces` print, pure
    data) names the same pieces, sections and checks as the table (a row naming two pieces
    lists the checks of both)."""
    from parity_tests.pieces import BY_NAME

    rows = documented_rows()
    assert set(BY_NAME) == {n for names, _, _ in rows for n in names} == documented_pieces()
    for names, section, checks in rows:
        assert {BY_NAME[name].section for name in names} == {section}, names
        assert {c for name in names for c in BY_NAME[name].checks} == checks, names
