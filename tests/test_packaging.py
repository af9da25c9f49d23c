"""The wheel carries resources/ (bundled MNIST, pretrained model) and finds them at run time."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_resources_found_from_checkout():
    from mnist_gui.resources_path import resource

    assert resource("mnist", "SHA256SUMS").is_file()
    assert resource("mnist", "train-images-idx3-ubyte.gz").is_file()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "-q", "-w", str(out), str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return next(out.glob("mnist_gui-*.whl"))


def test_wheel_contains_resources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz", "SHA256SUMS"):
        assert f"mnist_gui/resources/mnist/{f}" in names
    if (ROOT / "resources" / "pretrained.npz").exists():
        assert "mnist_gui/resources/pretrained.npz" in names
    assert "mnist_gui/nn/layers.py" in names and "mnist_gui/data/idx.py" in names
    for f in ("pendigits-orig.tra.gz", "README.md", "SHA256SUMS"):
        assert f"mnist_gui/resources/pendigits/{f}" in names
    # Every module of every sub-package ships (a package missing from pyproject's list would not).
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "mnist_gui").rglob("*.py")}
    assert sources <= names, sorted(sources - names)


def test_installed_wheel_finds_its_resources(wheel, tmp_path):
    # Unpack the wheel into a folder of its own and import it from there, away from the checkout.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import mnist_gui, sys; from mnist_gui.resources_path import resource; "
            "p = resource('mnist', 'SHA256SUMS'); assert p.is_file(), p; "
            "assert str(p).startswith(sys.argv[1]), (p, sys.argv[1]); print('ok')")
    proc = subprocess.run([sys.executable, "-c", code, str(site)], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr
