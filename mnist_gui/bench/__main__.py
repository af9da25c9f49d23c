"""``python -m mnist_gui.bench [--full]``: see :mod:`mnist_gui.bench.report`."""

from mnist_gui.bench.report import main

raise SystemExit(main())
