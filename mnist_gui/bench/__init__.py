"""Measurements that print numbers (never timed tests): see each module's docstring.

* :mod:`~mnist_gui.bench.report` — ``python -m mnist_gui.bench [--full]``, the README's table;
* :mod:`~mnist_gui.bench.engine` — the Qt-free timing helpers (GEMM ceiling, engine throughput,
  time to accuracy, memory, augmentation);
* :mod:`~mnist_gui.bench.window` — the window half of the table (lateness, throughput, drawing, start-up);
* :mod:`~mnist_gui.bench.drawbench` — ``python -m mnist_gui.bench.drawbench``, how well drawings are read.
"""
