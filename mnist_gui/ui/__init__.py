"""The Qt layer: one widget per file, the job runner, the settings, and the main window.

* :mod:`~mnist_gui.ui.app` — :class:`MainWindow`, the switchboard that wires everything below;
* :mod:`~mnist_gui.ui.canvas` — :class:`DrawingCanvas`, where the user draws a digit;
* :mod:`~mnist_gui.ui.preview` — :class:`DigitPreview`, the 28x28 image the network receives;
* :mod:`~mnist_gui.ui.prediction_chart` — :class:`PredictionChart`, the softmax bar chart;
* :mod:`~mnist_gui.ui.training_panel` — :class:`TrainingPanel`, presets, hyper-parameters, buttons;
* :mod:`~mnist_gui.ui.plots` — :class:`TrainingPlots`, live loss and accuracy curves;
* :mod:`~mnist_gui.ui.status_text` — a status line that repaints without re-laying-out the window;
* :mod:`~mnist_gui.ui.correction_bar` — :class:`CorrectionBar`, Keep / That's a… under the network's input;
* :mod:`~mnist_gui.ui.my_digits_view` — :class:`MyDigitsView`, the user's saved drawings as a grid;
* :mod:`~mnist_gui.ui.my_digits_controller` — :class:`MyDigitsController`, the window's side of My digits;
* :mod:`~mnist_gui.ui.worker` — :class:`TrainingRunner`, background jobs in a QThread, as signals;
* :mod:`~mnist_gui.ui.settings` — :class:`Settings`, the settings file by name;
* :mod:`~mnist_gui.ui.imagefile` — picture files decoded with Qt's readers (also used by the CLI).

None of these computes gradients or decides which model is current; they show what the Qt-free
core produces. Files are read and written through the core too (model files, datasets), except the
settings file and the pictures Qt decodes.
"""
