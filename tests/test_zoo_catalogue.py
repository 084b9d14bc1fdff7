"""`inpaintzoo list` as a catalogue: recorded sizes match the specs, names never cut, filters, quiet pipes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from inpaintzoo import zoo
from inpaintzoo.cli import main


def test_every_recorded_parameter_count_is_the_specs():
    from inpaintzoo import plugins
    from inpaintzoo.build import build_model
    from inpaintzoo.spec import validate

    reg = plugins.registry()
    for name, e in zoo.index().items():
        with torch.device("meta"):  # shapes only: no memory, no initialisation
            model = build_model(validate(e.spec(), reg, name, scope="inference"), reg, check=False)
        assert e.parameters == sum(p.numel() for p in model.parameters()), name


def test_piped_list_shows_every_name_whole_and_json_every_field(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for name in zoo.index():
        assert any(line.split()[0] == name for line in lines if line.split()), name
    assert "…" not in out
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"name", "task", "dataset", "resolution", "parameters", "license", "cpu_seconds_512", "weights"} <= set(rows[0])


@pytest.mark.parametrize("args,expected", [
    (["--task", "intervene"], {"causal-nvae-pendulum", "causalvae-pendulum", "causal-nvae-faces64", "causalvae-faces64",
                                "causal-nvae-celeba64"}),
    (["--weights", "shipped", "--task", "encode"], {"cae-structure-tiny", "cae-texture-tiny"}),
    (["migan-*", "--weights", "hand"], {"migan-256-ffhq", "migan-256-places2"}),
    (["--dataset", "anime"], {"lama-anime-manga"}),
])
def test_filters(args, expected, capsys):
    assert main(["list", *args, "--json"]) == 0
    names = {r["name"] for r in json.loads(capsys.readouterr().out)}
    assert names == expected


def test_a_closed_pipe_ends_the_listing_quietly():
    p = subprocess.Popen([sys.executable, "-m", "inpaintzoo.cli", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(10)
    p.stdout.close()  # the reader leaves, as `| head -c 10`
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    assert err == "" and p.returncode in (0, 141)


def test_smoke_test_weights_say_so_in_list_load_and_card(tmp_path, capsys):
    from inpaintzoo import SmokeTestWarning, load
    from inpaintzoo.hub import build_card

    smoke = [n for n, e in zoo.index().items() if e.quality]
    assert {"medfe-tiny", "medfe-cae-tiny", "nvae-pendulum", "core-shapes-tiny"} <= set(smoke)
    for name in smoke:
        e = zoo.get(name)
        cfg = json.loads((e.shipped_dir / "config.json").read_text())
        assert cfg["quality"]["grade"] == e.quality  # the weights carry it wherever they are copied or pushed
        assert e.baseline["telea_psnr_hole"] > e.metrics["psnr_hole"]  # why they are smoke tests
    with pytest.warns(SmokeTestWarning, match="smoke test weights"):
        load("medfe-tiny")
    assert "Smoke test weights" in build_card(zoo.get("medfe-tiny").shipped_dir, "org/x", [])
    assert main(["list", "medfe-tiny"]) == 0
    out = capsys.readouterr().out
    assert "shipped (smoke test)" in out and "11.9 dB (Telea 21.3)" in out
    # the zoo's causal model beats Telea on its own data, and says nothing of the kind
    e = zoo.get("causal-nvae-pendulum")
    assert not e.quality and e.metrics["psnr_hole"] > e.baseline["telea_psnr_hole"]


def test_spec_prints_each_entry_as_it_builds_even_where_entries_share_a_file(capsys):
    """`inpaintzoo spec NAME > my.toml` must be NAME's spec: an entry sharing another's file (lama-fourier is
    lama-big.toml with 9 blocks) gets its values written into the printed file, comments kept."""
    import tomllib

    from inpaintzoo import zoo
    from inpaintzoo.cli import main

    shared = [e for e in zoo.index().values() if e.overrides]
    assert shared
    for e in shared:
        assert main(["spec", e.name]) == 0
        text = capsys.readouterr().out
        assert tomllib.loads(text) == e.spec() and text.startswith(f"# zoo entry {e.name}:")
        assert text.count("\n#") >= e.spec_path.read_text().count("\n#")  # the file's comments are kept
