"""Where the shipped resources (bundled MNIST, pretrained model, screenshot) live at run time.

In a wheel install the top-level ``resources/`` folder is installed as the package
``mnist_gui.resources``; in a source checkout it sits beside ``mnist_gui/``.
"""

from __future__ import annotations

from pathlib import Path


def resources_dir() -> Path:
    """Return the folder holding the shipped resources."""
    try:
        import mnist_gui.resources as res  # installed layout (wheel or editable)

        paths = list(getattr(res, "__path__", []))
        for p in paths:
            if (Path(p) / "mnist").is_dir():
                return Path(p)
    except ImportError:
        pass
    return Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    """Path of one shipped resource, e.g. ``resource("mnist", "SHA256SUMS")``."""
    return resources_dir().joinpath(*parts)
