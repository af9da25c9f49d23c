"""The application's state that is not Qt: plain Python objects the window shows but does not own.

* :mod:`~mnist_gui.state.models` — which model is loaded, which network is in training, which one
  the bars come from, and the rule that decides what a finished run replaces;
* :mod:`~mnist_gui.state.epochs` — the weights of each epoch of a run (time travel);
* :mod:`~mnist_gui.state.inspection` — what the insight views look at, and what they still need computed.
"""
