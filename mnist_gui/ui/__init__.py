"""The Qt layer: one widget per file, plus the training worker.

* :mod:`~mnist_gui.ui.canvas` — :class:`DrawingCanvas`, where the user draws a digit;
* :mod:`~mnist_gui.ui.preview` — :class:`DigitPreview`, the 28x28 image the network receives;
* :mod:`~mnist_gui.ui.prediction_chart` — :class:`PredictionChart`, the softmax bar chart;
* :mod:`~mnist_gui.ui.training_panel` — :class:`TrainingPanel`, presets, hyper-parameters, buttons;
* :mod:`~mnist_gui.ui.plots` — :class:`TrainingPlots`, live loss and accuracy curves;
* :mod:`~mnist_gui.ui.worker` — :class:`TrainingWorker` / :class:`TrainingRunner`, training in a QThread.

None of these compute gradients or read files; they show what the Qt-free core produces.
:mod:`mnist_gui.app` wires them together.
"""
