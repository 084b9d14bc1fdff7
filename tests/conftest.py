import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import huggingface_hub.constants  # noqa: E402,F401  (reads HF_HUB_OFFLINE once: now, not in whichever test imports it first)
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture
def registry():
    from inpaintzoo import plugins

    return plugins.registry()


@pytest.fixture
def fresh_plugins():
    """Reload plugins after the test changes the environment."""
    from inpaintzoo import plugins

    plugins.reset()
    yield plugins
    plugins.reset()


TINY_SPEC = {
    "model": {"name": "tiny", "image_size": [16, 16], "mean": [0.5], "std": [0.5], "size_multiple": 4, "resize": "pad"},
    "encoder": {"type": "core.conv_encoder", "channels": [8, 16]},
    "prior": {"type": "core.identity"},
    "decoder": {"type": "core.conv_decoder", "channels": [16, 8]},
    "losses": {"l1": {"type": "core.l1"}},
}


@pytest.fixture
def tiny_spec():
    import copy

    return copy.deepcopy(TINY_SPEC)
