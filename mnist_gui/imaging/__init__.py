"""Images of digits, Qt-free: a drawing turned into what the network expects, and distorted batches.

* :mod:`~mnist_gui.imaging.preprocess` — :func:`preprocess_drawing` (crop, even out the pen, scale
  to 20 px, centre by mass, as MNIST was made) and :func:`normalize_polarity`;
* :mod:`~mnist_gui.imaging.augment` — :class:`Augmenter`, random warps and pens for training batches;
* :mod:`~mnist_gui.imaging.morphology` — the 3x3 max/min filters both of them use.

Decoding image *files* needs Qt's readers: that is :mod:`mnist_gui.ui.imagefile`.
"""
