import json
import subprocess
import sys

import pytest

from inpaintzoo.cli import main
from inpaintzoo.errors import SpecError
from inpaintzoo.spec import validate


def _problems(raw, registry):
    with pytest.raises(SpecError) as info:
        validate(raw, registry, "s.toml")
    return info.value.problems


def test_resolved_spec_round_trips(tiny_spec, registry):
    spec = validate(tiny_spec, registry)
    again = validate(spec.to_dict(), registry)
    assert again.to_dict() == spec.to_dict()
    assert spec.to_dict()["encoder"]["in_channels"] == 3  # defaults filled in
    assert spec.to_dict()["train"]["batch_size"] == 16


def test_every_problem_is_one_line_with_key_path(tiny_spec, registry):
    tiny_spec["model"]["image_sise"] = 3
    tiny_spec["encoder"]["chanels"] = [4]
    tiny_spec["decoder"]["out_channels"] = "three"
    tiny_spec["losses"]["l1"]["region"] = "holes"
    tiny_spec["prior"]["type"] = "core.identiy"
    tiny_spec["trian"] = {}
    probs = _problems(tiny_spec, registry)
    assert len(probs) == 6 and all("\n" not in p for p in probs)
    text = "\n".join(probs)
    assert "trian: unknown section" in text and "did you mean 'train'" in text
    assert "model.image_sise: unknown key" in text and "did you mean 'image_size'" in text
    assert "encoder.chanels: unknown key" in text and "did you mean 'channels'" in text
    assert "decoder.out_channels:" in text and "'three'" in text
    assert "losses.l1.region:" in text and "did you mean 'hole'" in text
    assert "prior.type: unknown prior 'core.identiy' (did you mean 'core.identity'?)" in text


def test_wrong_kind_and_missing_sections(registry):
    probs = _problems({"model": {}, "encoder": {"type": "core.l1"}}, registry)
    text = "\n".join(probs)
    assert "encoder.type: unknown encoder 'core.l1'" in text
    assert "prior, decoder, losses: missing sections; add a table for each ([prior], [decoder], [losses])" in text
    assert len(probs) == 2  # the unknown type, and one line for the three missing sections
    one = _problems({"model": {}, "encoder": {"type": "core.conv_encoder"}, "prior": {"type": "core.identity"},
                     "losses": {"l1": {"type": "core.l1"}}}, registry)
    assert "decoder: missing section; add a [decoder] table" in one


def test_contract_checks(tiny_spec, registry):
    tiny_spec["model"]["image_size"] = [18, 16]
    assert any("not a multiple of size_multiple=4" in p for p in _problems(tiny_spec, registry))


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_build_writes_artefact(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["build", "core-shapes-tiny", "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["architecture"] == "core-shapes-tiny"
    assert cfg["contract"]["mask_polarity"] == "1=hole" and cfg["contract"]["size_multiple"] == 4
    assert set(cfg["versions"]) >= {"inpaintzoo", "torch"}
    assert cfg["parameters"] > 0 and "parameters" in capsys.readouterr().out
    assert (out / "model.safetensors").stat().st_size > 0
    # an existing output folder is refused
    assert main(["build", "core-shapes-tiny", "--out", str(out)]) == 2
    assert "output folder exists" in capsys.readouterr().err


def test_shape_mismatch_names_both_components_and_leaves_nothing(tmp_path, capsys):
    spec = _write(tmp_path, "s.toml", """
[model]
image_size = [16, 16]
[encoder]
type = "core.conv_encoder"
channels = [8, 16]
[prior]
type = "core.gaussian"
channels = 12
[decoder]
type = "core.conv_decoder"
channels = [16, 8]
[losses.l1]
type = "core.l1"
""")
    out = tmp_path / "m"
    assert main(["build", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "prior 'core.gaussian' cannot take the output of encoder 'core.conv_encoder'" in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["s.toml"]


def test_decoder_output_size_mismatch(tmp_path, capsys):
    spec = _write(tmp_path, "s.toml", """
[model]
image_size = [16, 16]
[encoder]
type = "core.conv_encoder"
channels = [8, 16]
[prior]
type = "core.identity"
[decoder]
type = "core.conv_decoder"
channels = [16]
[losses.l1]
type = "core.l1"
""")
    assert main(["build", str(spec), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "decoder 'core.conv_decoder' returns images of shape (2, 3, 8, 8)" in err
    assert "decoder.channels has 1 entries" in err and "leave decoder.channels out to mirror the encoder" in err


def test_a_width_that_does_not_match_names_its_key(tmp_path, capsys):
    """A decoder written for another encoder: the error names the key holding the wrong width and the fix."""
    spec = _write(tmp_path, "s.toml", """
[model]
image_size = [16, 16]
[encoder]
type = "core.conv_encoder"
channels = [8, 16]
[prior]
type = "core.identity"
[decoder]
type = "core.conv_decoder"
channels = [32, 8]
[losses.l1]
type = "core.l1"
""")
    assert main(["build", str(spec), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "decoder.channels[0] is 32 (as written): set decoder.channels[0] = 16, or leave decoder.channels out" in err


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[model\nname = 1", "malformed TOML: Expected ']' at the end of a table declaration (at line 1, column 7)"),
        (None, "no such spec file"),
    ],
)
def test_cli_errors_exit_2_without_traceback(tmp_path, text, expected):
    path = tmp_path / "spec.toml"
    if text is not None:
        path.write_text(text)
    r = subprocess.run([sys.executable, "-m", "inpaintzoo.cli", "build", str(path), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert expected in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_list_and_spec_commands(capsys):
    assert main(["list", "--json"]) == 0
    names = [e["name"] for e in json.loads(capsys.readouterr().out)]
    assert "core-shapes-tiny" in names
    assert main(["spec", "core-shapes-tiny"]) == 0
    assert 'type = "core.conv_encoder"' in capsys.readouterr().out
    assert main(["spec", "core-shapes-tin"]) == 2
    assert "did you mean 'core-shapes-tiny'" in capsys.readouterr().err


def test_check_command_runs_conformance(capsys):
    from inpaintzoo import plugins

    n = len(plugins.host().plugins["inpaintzoo"].components)
    assert main(["check", "inpaintzoo"]) == 0
    assert f"{n} passed, 0 failed" in capsys.readouterr().out
    assert main(["check", "inpaintzo"]) == 2
    assert "did you mean 'inpaintzoo'" in capsys.readouterr().err
