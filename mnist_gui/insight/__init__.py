"""Looking inside a network: the maths behind the window's insight views, without Qt.

* :mod:`~mnist_gui.insight.evaluation` — a model's answers on a labelled set: confusion counts,
  per-class accuracy (what the confusion matrix shows and ``mnist-gui evaluate`` prints);
* :mod:`~mnist_gui.insight.gallery` — which images a gallery shows, and in which order;
* :mod:`~mnist_gui.insight.weights` — the first layer's weights as 28x28 tiles in a diverging colour map;
* :mod:`~mnist_gui.insight.inside` — one drawing's hidden activations and saliency map;
* :mod:`~mnist_gui.insight.digit_map` — a 2-D principal-component map of the last hidden layer.

Every function here is stateless with respect to the network (it reads weights, it never writes
layer buffers unless it says so), so the GUI thread can call it while another thread trains.
"""
