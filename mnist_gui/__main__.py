"""``python -m mnist_gui`` is the same as the ``mnist-gui`` command (whose entry point is :func:`run`)."""

from mnist_gui.interrupts import hold

hold()   # first of all: Ctrl-C from here on is delivered inside main()'s try (see mnist_gui.interrupts)


def run() -> int:
    """The ``mnist-gui`` command: hold Ctrl-C until main() can handle it, then run main()."""
    hold()
    from mnist_gui.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
