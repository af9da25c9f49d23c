"""The application's state that is not Qt: plain Python objects the window shows but does not own.

* :mod:`~mnist_gui.state.models` — which model is current, which network is in training, which one
  the bars come from, and the rule that decides whether a finished run becomes the current model;
* :mod:`~mnist_gui.state.library` — the library of runs: every run's model, record and curves;
* :mod:`~mnist_gui.state.curves` — a run's curves, as recorded and as stored;
* :mod:`~mnist_gui.state.compare` — runs side by side (settings, metrics files);
* :mod:`~mnist_gui.state.datadir` — where the user's data folder is, found without Qt;
* :mod:`~mnist_gui.state.my_digits` — the user's own labelled drawings (strokes and inputs), on disk;
* :mod:`~mnist_gui.state.set_reading` — the current model's reading of them, a slice at a time, and its score;
* :mod:`~mnist_gui.state.epochs` — the weights of each epoch of a run (time travel);
* :mod:`~mnist_gui.state.inspection` — what the insight views look at, and what they still need computed.
"""
