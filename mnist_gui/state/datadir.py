"""Where the user's data lives (the library of runs), found without Qt so the command line agrees with the window.

The window's answer would be ``QStandardPaths.writableLocation(AppDataLocation)`` for organization
and application "mnist-gui"; :func:`data_dir` computes the same folder from the platform's rules
(a Qt-layer test checks the two agree), so ``mnist-gui runs`` in a terminal lists what the window
shows without importing Qt:

* Linux and other Unix: ``$XDG_DATA_HOME/mnist-gui/mnist-gui`` if ``XDG_DATA_HOME`` is an absolute
  path, else ``~/.local/share/mnist-gui/mnist-gui``;
* macOS: ``~/Library/Application Support/mnist-gui/mnist-gui``;
* Windows: ``%APPDATA%\\mnist-gui\\mnist-gui``.

``MNIST_GUI_DATA_DIR`` overrides all of them (tests set it per test, so none touches a real home).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ORGANIZATION = APPLICATION = "mnist-gui"
#: The environment variable that overrides the platform's folder.
OVERRIDE = "MNIST_GUI_DATA_DIR"


def data_dir(environ: dict | None = None, platform: str | None = None, home: Path | None = None) -> Path:
    """The folder for the user's data (it may not exist yet). Arguments are for tests; by default the
    process environment, ``sys.platform`` and the home folder."""
    env = os.environ if environ is None else environ
    override = env.get(OVERRIDE, "")
    if override:
        return Path(override).expanduser()
    platform = sys.platform if platform is None else platform
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    if platform.startswith("win"):
        appdata = env.get("APPDATA", "")
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_DATA_HOME", "")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "share"   # Qt ignores a relative one
    return base / ORGANIZATION / APPLICATION
