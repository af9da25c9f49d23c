"""``python -m mnist_gui`` is the same as the ``mnist-gui`` command."""

from mnist_gui.cli import main

raise SystemExit(main())
