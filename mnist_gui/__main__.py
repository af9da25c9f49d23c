"""``python -m mnist_gui`` is the same as the ``mnist-gui`` command."""

try:
    from mnist_gui.cli import main
except KeyboardInterrupt:   # Ctrl-C while still importing: exit quietly, as main() would
    raise SystemExit(130) from None

raise SystemExit(main())
