"""The package's layers (mnist_gui/__init__.py): who may import whom, and a core that needs no Qt."""

from __future__ import annotations

import ast
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import mnist_gui

PACKAGE = Path(mnist_gui.__file__).parent
# Bottom to top, as the map in mnist_gui/__init__.py states it.
LAYERS = [{"digits", "errors", "files", "interrupts", "atomic", "formatting", "resources_path", "__init__", "__version__", "resources"}, {"nn"}, {"data"}, {"model"},
          {"imaging"}, {"training"}, {"insight"}, {"state"}, {"jobs"}, {"ui", "app"}, {"bench", "cli", "__main__"}]


def layer_of(part: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if part in names)


QT_LAYER = layer_of("ui")


def modules():
    """(dotted name, path) of every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        yield ".".join(rel.parts), path


def imported(path: Path):
    """Every import in a file, with its line: ("mnist_gui.x.y" or a third-party top name, line)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "mnist_gui":   # from mnist_gui import data, __version__
                for alias in node.names:
                    yield f"mnist_gui.{alias.name}", node.lineno
            else:
                yield node.module, node.lineno


def test_every_import_goes_down_the_layers_or_sideways():
    wrong = []
    for name, path in modules():
        own = layer_of(name.split(".")[1] if "." in name else "__init__")
        for target, line in imported(path):
            if target.startswith("mnist_gui."):
                other = layer_of(target.split(".")[1])
                if other > own:
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
            elif target.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6") and own < QT_LAYER:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports Qt ({target}) below the ui layer")
    assert not wrong, "\n".join(wrong)


def test_the_core_imports_with_pyside6_unimportable():
    core = [name for name, _ in modules() if "." in name and layer_of(name.split(".")[1]) < QT_LAYER
            and not name.endswith("__main__")]
    core += [m.name for m in pkgutil.iter_modules([str(PACKAGE / "bench")], "mnist_gui.bench.")
             if m.name not in ("mnist_gui.bench.window", "mnist_gui.bench.__main__")]
    core += ["mnist_gui.cli"]
    assert len(core) > 25
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'):\n"
        "            raise ImportError('Qt is not available here: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import importlib\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
        "print('imported', len(sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(PACKAGE.parent)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("imported")
