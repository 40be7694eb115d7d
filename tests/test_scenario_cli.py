"""``smaug-fast scenario SPEC.toml``: the example runs, prints its table, JSON and figure; every bad input is
one line on stderr and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smaug_fast.cli import main
from smaug_fast.scenario.files import read_scenario

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "camera_pipe.toml"

SMALL = """name = "small"
fps = 30
[set]
accelerator = {{ kind = "systolic", array = {{ rows = 4, cols = 4 }} }}
[[tasks]]
name = "camera"
pipeline = "camera_pipe"
width = 320
height = 192
{camera}
[[tasks]]
name = "net"
network = "lenet5"
after = ["camera"]
{net}
"""


def _spec(tmp_path, name="s.toml", camera="", net="", text=None) -> str:
    path = tmp_path / name
    path.write_text(text if text is not None else SMALL.format(camera=camera, net=net))
    return str(path)


def test_the_example_prints_the_frame_table_and_writes_the_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out_png = tmp_path / "camera.png"
    assert main(["scenario", str(EXAMPLE), "--plot", str(out_png)]) == 0
    out = capsys.readouterr().out
    assert "camera_pipe_cnn10" in out and "cnn10" in out and " met " in out and f"plot: {out_png}" in out
    assert out_png.read_bytes()[:4] == b"\x89PNG"


def test_the_example_is_the_case_study():
    scenario, system = read_scenario(str(EXAMPLE))
    assert [t.name for t in scenario.tasks] == ["camera", "cnn10"] and scenario.tasks[1].after == ("camera",)
    cam = scenario.tasks[0].workload
    assert (cam.width, cam.height) == (1280, 720) and scenario.period_s == pytest.approx(1 / 30)
    assert type(system.accelerator).__name__ == "SystolicArray" and system.accelerator.array.rows == 8


def test_json_and_frames(tmp_path, capsys):
    assert main(["scenario", _spec(tmp_path), "--json", "--frames", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames"] == 3 and set(out["tasks"]) == {"camera", "net"} and out["deadline_met"] is True
    assert out["tasks"]["net"]["kind"] == "dnn" and len(out["frame_results"]) == 3


BAD = {
    "missing file": ({"text": None, "name": "none.toml"}, ["scenario", "{d}/missing.toml"], "cannot read"),
    "not TOML": ({"text": "tasks = [\n"}, None, "not valid TOML"),
    "unknown top-level key": ({"text": 'fsp = 30\n[[tasks]]\nname = "a"\nnetwork = "lenet5"\n'}, None,
                              "fsp: unknown key"),
    "no tasks": ({"text": 'fps = 30\n'}, None, "tasks: give at least one [[tasks]] table"),
    "fps and period": ({"text": 'fps = 30\nperiod_s = 0.1\n[[tasks]]\nname = "a"\nnetwork = "lenet5"\n'}, None,
                       "give period_s or fps, not both"),
    "period <= 0": ({"text": 'period_s = 0\n[[tasks]]\nname = "a"\nnetwork = "lenet5"\n'}, None,
                    "period_s = 0: must be a number > 0"),
    "deadline <= 0": ({"net": "deadline_s = -1"}, None, "task 'net': deadline_s = -1: must be a number > 0"),
    "unknown dependency": ({"text": '[[tasks]]\nname = "net"\nnetwork = "lenet5"\nafter = ["camrea"]\n'}, None,
                           "task 'net': after = 'camrea': no task of that name"),
    "unknown pipeline option": ({"camera": "widht = 3"}, None, "task 'camera': widht: unknown option of pipeline"),
    "unknown network": ({"text": '[[tasks]]\nname = "a"\nnetwork = "lenet6"\n'}, None,
                        "task 'a': zoo: network = 'lenet6': unknown"),
    "network and pipeline": ({"text": '[[tasks]]\nname = "a"\nnetwork = "lenet5"\npipeline = "camera_pipe"\n'}, None,
                             "task 'a': give exactly one of network = NAME or pipeline = NAME"),
    "unknown pipeline": ({"text": '[[tasks]]\nname = "a"\npipeline = "isp"\n'}, None, "pipeline = 'isp': unknown"),
    "accelerator the system lacks": ({"net": "accelerators = [1]"}, None,
                                     "task 'net': accelerators = (1,): the system has 1 accelerator(s)"),
    "accelerators on a pipeline": ({"camera": "accelerators = [0]"}, None, "task 'camera': accelerators = (0,)"),
    "footprint larger than the frame": ({"text": '[[tasks]]\nname = "c"\npipeline = "camera_pipe"\nwidth = 4\n'
                                                 'height = 4\n'}, None, "stage 'denoised': reads['input'].footprint"),
    "cycle": ({"text": '[[tasks]]\nname = "a"\nnetwork = "lenet5"\nafter = "b"\n[[tasks]]\nname = "b"\n'
                       'network = "lenet5"\nafter = "a"\n'}, None, "dependency cycle"),
    "bad --set": ({"text": '[set]\nl2.sise_bytes = 1\n[[tasks]]\nname = "a"\nnetwork = "lenet5"\n'}, None, "sise_bytes"),
    "plot in a missing folder": ({}, ["scenario", "{spec}", "--plot", "{d}/nodir/p.png"], "does not exist"),
    "plot not png or pdf": ({}, ["scenario", "{spec}", "--plot", "{d}/p.svg"], "must end in .png or .pdf"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_one_line_and_status_2(name, tmp_path, capsys):
    spec_args, argv, message = BAD[name]
    spec = _spec(tmp_path, **spec_args) if spec_args.get("text", "") is not None else ""
    argv = argv or ["scenario", "{spec}"]
    argv = [a.format(d=tmp_path, spec=spec) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("smaug-fast scenario: error: "), err
    assert message in err, err
