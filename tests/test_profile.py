"""benchmarks.profile: HLO instructions are read with their opcodes and name stacks, each
operation lands in the innermost part of the agent its name stack names, and a traced call's
per-operation times add up to the call, with the heavy operation where it was written."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from benchmarks import profile, report
from benchmarks.timing import Program


def _matmuls_then_head(x, w):
    with jax.named_scope("enc"):
        for _ in range(4):
            x = x @ w
    with jax.named_scope("head"):
        return jnp.tanh(x).mean()


def test_hlo_operations_reads_opcodes_and_name_stacks():
    text = "\n".join([
        "HloModule jit_step, entry_computation_layout={()->f32[]}",
        "%fused_computation.7 (param_0: f32[4,10]) -> f32[4,10] {",
        '  %convolution.1 = f32[4,10]{1,0} convolution(f32[4,10]{1,0} %param_0), '
        'metadata={op_name="jit(step)/jvp(dec)/dec/conv1/conv_general_dilated"}',
        '  ROOT %add.2 = f32[4,10]{1,0} add(%convolution.1, %convolution.1), '
        'metadata={op_name="jit(step)/jvp()/add"}',
        "}",
        "ENTRY %main.9 () -> f32[] {",
        '  %ynn_fusion.1 = f32[4,10]{1,0} fusion(f32[4,10]{1,0} %p), kind=kCustom, '
        'calls=%fused_computation.7, metadata={op_name="jit(step)/jvp()/add"}',
        '  %fusion.3 = f32[4,10]{1,0} fusion(f32[4,10]{1,0} %p), kind=kLoop, calls=%f, '
        'metadata={op_name="jit(step)/jvp(Encoder)/conv0/add" source_file="x.py"}',
        "  %while.1 = (f32[4]{0}, s32[]) while((f32[4]{0}, s32[]) %tuple), condition=%c, "
        'body=%b, metadata={op_name="jit(step)/jvp()/while"}',
        "  %transpose.5 = f32[10,4]{1,0} transpose(f32[4,10]{1,0} %fusion.3), dimensions={1,0}",
        "  ROOT %copy.2 = f32[4]{0} copy(f32[4]{0} %x)",
    ])
    assert profile.module_name(text) == "jit_step"
    assert profile.hlo_operations(text) == {
        "convolution.1": profile.Operation("convolution",
                                           "jit(step)/jvp(dec)/dec/conv1/conv_general_dilated"),
        "add.2": profile.Operation("add", "jit(step)/jvp()/add"),
        # A fusion is named after the convolution it runs, not its trailing add.
        "ynn_fusion.1": profile.Operation("fusion",
                                          "jit(step)/jvp(dec)/dec/conv1/conv_general_dilated"),
        "fusion.3": profile.Operation("fusion", "jit(step)/jvp(Encoder)/conv0/add"),
        "while.1": profile.Operation("while", "jit(step)/jvp()/while"),
        # XLA's own transpose of the encoder's output is the encoder's; a copy of nothing
        # named stays unnamed.
        "transpose.5": profile.Operation("transpose", "jit(step)/jvp(Encoder)/conv0/add"),
        "copy.2": profile.Operation("copy", ""),
    }


@pytest.mark.parametrize("op_name, expected", [
    ("jit(<lambda>)/opt/jvp(enc)/enc/conv0/conv_general_dilated", "encoder"),
    ("jit(train_step)/transpose(jvp(Decoder))/Decoder._images/sp1/mul", "decoder"),
    ("jit(train_step)/jvp()/while/body/closed_call/RSSM.observe_step/dynin0/dot_general",
     "RSSM (observe and imagination steps)"),
    ("jit(<lambda>)/opt/jvp(dyn)/dyn/scan/while/body/pol/mlp/linear0/dot_general",
     "heads (reward, continuation, policy, value)"),
    ("jit(<lambda>)/opt/jvp(dyn)/dyn/scan/seed/jit(_threefry_split)/slice", "random numbers"),
    ("jit(train_step)/jvp()/sub", profile.LOSSES),
    ("jit(<lambda>)/opt/jit(norm)/sqrt", profile.OPTIMIZER),
    ("", profile.UNNAMED),
])
def test_the_innermost_named_part_wins(op_name, expected):
    assert profile.part(profile.Operation("fusion", op_name)) == expected


def test_a_traced_call_is_attributed_to_its_parts(tmp_path):
    x, w = jnp.ones((512, 512)) / 512, jnp.ones((512, 512)) / 512
    program = Program("toy", jax.jit(_matmuls_then_head), (x, w))
    (result,) = profile.profile([program], 2, str(tmp_path))
    assert result.calls == 2 and result.side == "toy"
    # The matrix products are the work; they carry the name "enc".
    assert result.by_part["encoder"] > 0.5 * result.total, result.by_part
    assert result.top[0][2].opcode in ("dot", "fusion") and "enc" in result.top[0][2].op_name
    # One thread on this program's path: the operations cannot take longer than the calls.
    assert result.total <= 2 * result.wall_s
    table = profile.table("toy", (8, 1), result, result)
    assert table.rows[0][:3] == ["encoder", profile._ms(result.by_part["encoder"]),
                                 f"{result.by_part['encoder'] / result.total:.1%}"]


def test_the_section_is_replaced_and_kept(tmp_path):
    text = report.with_section("# Benchmarks\n\nbody\n", "profile", "first")
    assert text == ("# Benchmarks\n\nbody\n\n<!-- profile: begin -->\nfirst\n"
                    "<!-- profile: end -->\n")
    again = report.with_section(text, "profile", "second")
    assert "first" not in again and report.section(again, "profile").count("second") == 1
    assert report.section("# Benchmarks\n", "profile") is None


def test_bad_batch_is_one_line(capsys):
    with pytest.raises(SystemExit) as stopped:
        profile._parse(["--batch", "16"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err == ("python -m benchmarks.profile: error: --batch: '16' is "
                                       "not SIZExLENGTH, e.g. 16x64 (see --help)\n")



def test_a_section_is_written_with_its_command_and_machine(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nthe other tables\n")
    header = {"CPU": "cpu X", "vector units": "avx2", "cores": "2 usable of 2", "date": "today",
              "revision": "abc", "load average": "0.10 0.20 0.30"}
    report.write_section(path, "profile", report.Table("T", ["a"], [["1"]]), "python -m x",
                         header)
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nthe other tables\n")
    assert "| a |\n| --- |\n| 1 |" in report.section(text, "profile")
    assert "Generated by `python -m x` on cpu X (avx2; 2 usable of 2 cores), today" in text
