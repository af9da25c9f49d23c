"""The training panel: a preset, the hyper-parameters, Train / Pause / Stop and the progress bar.

Every field is checked as the user types, against the same table of limits the command line uses
(:data:`~mnist_gui.training.BOUNDS`). An invalid field turns red, and the reason is written under the
form (and in the field's and the Train button's tooltips), so a bad value is refused, visibly, before
any work starts. The final word belongs to :meth:`TrainingConfig.validate`, which also catches what no
single field can see (a network too large to fit in memory, more images than the dataset holds).

Editing a field turns the preset box to "custom"; picking a preset keeps those edits under "custom",
so they are one click away instead of lost. Every control explains itself (tooltip and What's This),
and a small plot draws the learning-rate schedule the fields describe.

The panel asks, the main window decides: Train emits ``train_requested(config)`` and the window puts
the panel in its loading/training state; Pause, Resume and Stop emit ``pause_requested``,
``resume_requested`` and ``stop_requested`` and switch the buttons at once (they always succeed).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QFrame, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QScrollArea, QVBoxLayout, QWidget)

from mnist_gui.errors import ConfigError
from mnist_gui.nn import ACTIVATIONS, OPTIMIZERS, SCHEDULES
from mnist_gui.training import BOUNDS, BatchProgress, TrainingConfig, parse_hidden
from mnist_gui.training.presets import DEFAULT_PRESET, PRESETS
from mnist_gui.ui.schedule_view import ScheduleView
from mnist_gui.ui.status_text import StatusText
from mnist_gui.ui.theme import Theme, app_theme

CUSTOM = "custom"
PEN_SHARE, SCRIBBLE_SHARE = 0.25, 0.05   # what the pen check box turns on where the preset has none
MY_DIGITS_SHARE = 0.1   # what "Include my digits" turns on (as ``train --my-digits`` does)
DATASET = "dataset"   # the key of an error no field is to blame for (a validation split the dataset cannot give)
#: What each choice in the combo boxes does, for their tooltips.
CHOICES = {
    "activation": ("How a hidden unit turns its weighted sum into its output.", {
        "relu": "max(0, x): cheap, and its gradient does not fade in deep networks; the usual choice.",
        "leaky_relu": "like relu, but a small slope (0.01) below zero, so no unit can go silent for good.",
        "tanh": "an S-curve from -1 to 1; learns more slowly in deep networks (its gradient fades).",
        "sigmoid": "an S-curve from 0 to 1; the classic one, slowest to learn of the four."}),
    "optimizer": ("How the gradient turns into a step of the weights.", {
        "sgd": "plain stochastic gradient descent: step = learning rate x gradient.",
        "momentum": "SGD that keeps rolling in the direction it was going (momentum 0.9).",
        "nesterov": "momentum that looks one step ahead before correcting; a little steadier.",
        "rmsprop": "scales each weight's step by its recent gradient size; good with lr 0.001.",
        "adam": "momentum plus RMSProp's scaling: a robust default with lr 0.001-0.003."}),
    "schedule": ("How the learning rate changes during the run (drawn below).", {
        "constant": "the same rate from start to end.",
        "step": "the rate drops tenfold halfway through and again at three quarters.",
        "cosine": "a short warm-up, then a smooth fall to 1% of the rate: usually the last fraction of a "
                  "percent of accuracy."}),
}
IDLE, LOADING, TRAINING, PAUSED, STOPPING = "idle", "loading", "training", "paused", "stopping"


def _parse_limit(text: str) -> int | None:
    if text.strip().lower() in ("", "all"):
        return None
    return BOUNDS["limit"].parse(text, "limit")


# The text fields: field name -> (label, parser raising ConfigError, tooltip). The numeric limits and
# their messages come from the one table the CLI's validation reads too (training.BOUNDS).
FIELDS = {
    "hidden": ("Hidden layers", parse_hidden, "Units per hidden layer, comma-separated (e.g. 256,128)."),
    **{key: (label, (lambda text, key=key: BOUNDS[key].parse(text, key)), BOUNDS[key].hint)
       for key, label in (("lr", "Learning rate"), ("batch_size", "Batch size"), ("epochs", "Epochs"),
                          ("l2", "L2 decay"), ("dropout", "Dropout"), ("seed", "Seed"))},
    "limit": ("Training images", _parse_limit, BOUNDS["limit"].hint),
}


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _duration(seconds: float, precise: bool = False) -> str:
    """"42 s" or "3:04" (minutes); with ``precise``, tenths under a minute ("4.7 s")."""
    if precise and seconds < 59.95:
        return f"{max(0.0, seconds):.1f} s"
    seconds = max(0, int(round(seconds)))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60}:{seconds % 60:02d}"


class TrainingPanel(QGroupBox):
    """Preset, hyper-parameters, buttons and progress. Emits requests; the window sets the state."""

    train_requested = Signal(object)   # TrainingConfig
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Training", parent)
        self._state = IDLE
        self._errors: dict[str, str] = {}
        self._config: TrainingConfig | None = None
        self._base = PRESETS[DEFAULT_PRESET]       # the preset the fields started from
        self._custom: dict | None = None           # the fields as the user last edited them
        self._applying = False                     # filling fields from a preset, not a user edit
        self._n_train: int | None = None           # images in the dataset, once known
        self._last_progress: BatchProgress | None = None

        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("presetCombo")
        for name, preset in PRESETS.items():
            self.preset_combo.addItem(name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, preset.summary, Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.addItem(CUSTOM)
        self.preset_combo.setItemData(self.preset_combo.count() - 1, "Your own settings: edit any field.",
                                      Qt.ItemDataRole.ToolTipRole)
        self._explain(self.preset_combo, "A ready-made set of settings: each write-up this app grew from, and "
                      "our fast and best recipes. Editing any field makes it 'custom'.")
        self.preset_summary = QLabel()
        self.preset_summary.setObjectName("presetSummary")
        self.preset_summary.setWordWrap(True)
        self.preset_summary.setStyleSheet("font-size: 9pt;")
        self.combos: dict[str, QComboBox] = {}
        for key, names in (("activation", ACTIVATIONS), ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
            combo = QComboBox()
            combo.setObjectName(f"{key}Combo")
            summary, explained = CHOICES[key]
            for name in names:
                combo.addItem(name)
                combo.setItemData(combo.count() - 1, explained.get(name, ""), Qt.ItemDataRole.ToolTipRole)
            self._explain(combo, summary + "\n" + "\n".join(f"{n}: {t}" for n, t in explained.items()))
            self.combos[key] = combo
        self.activation_combo, self.optimizer_combo, self.schedule_combo = (
            self.combos["activation"], self.combos["optimizer"], self.combos["schedule"])
        self.edits: dict[str, QLineEdit] = {}
        for key, (_, _, tip) in FIELDS.items():
            edit = QLineEdit()
            edit.setObjectName(f"{key}Field")
            self._explain(edit, tip)
            edit.textChanged.connect(self._revalidate)
            self.edits[key] = edit
        self.edits["limit"].setPlaceholderText("all")
        self.augment_check = QCheckBox("Au&gment training images")
        self.augment_check.setObjectName("augmentCheck")
        self._explain(self.augment_check, "Randomly rotate, scale, shear, shift and thicken each batch, like real "
                      "handwriting:\nslower to learn, better on drawn digits.")
        self.pen_check = QCheckBox("Learn from real pen-dra&wn digits")
        self.pen_check.setObjectName("penDigitsCheck")
        self._explain(self.pen_check, "Mix real pen-drawn digits (24 writers, each digit also re-drawn in 4 pen "
                      "styles) and non-digit scribbles into every batch:\nthe network then reads people's drawings "
                      "far better (measured on 6 other writers), and can say when a drawing is not a digit.")
        # No Alt+letter: each of its letters is taken (the My digits tab has the y).
        self.my_digits_check = QCheckBox("Include my digits")
        self.my_digits_check.setObjectName("includeMyDigitsCheck")
        self._my_digits_tip = ("Mix your own saved drawings (My digits), each also re-drawn in a few pen styles, into "
                               f"{MY_DIGITS_SHARE:.0%} of every batch: the network learns your handwriting along "
                               "with MNIST.")
        self._my_digits_ok = False
        self._my_digits_wanted = False   # ticked in the saved settings, before the set's size was known
        self._explain(self.my_digits_check, self._my_digits_tip)
        self.schedule_view = ScheduleView()
        self.schedule_view.setObjectName("scheduleView")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Preset", self.preset_combo)
        form.addRow(self.preset_summary)
        # Alt+letter shortcuts: none of the menus' F, E, H, and each letter once.
        form.addRow("Hidde&n layers", self.edits["hidden"])
        form.addRow("A&ctivation", self.activation_combo)
        form.addRow("Op&timizer", self.optimizer_combo)
        form.addRow("&Learning rate", self.edits["lr"])
        form.addRow("LR sched&ule", self.schedule_combo)
        form.addRow(self.schedule_view)
        for key, label in (("batch_size", "&Batch size"), ("epochs", "Ep&ochs"), ("l2", "L&2 decay"),
                           ("dropout", "&Dropout"), ("seed", "&Seed"), ("limit", "Training &images")):
            form.addRow(label, self.edits[key])
        form.addRow(self.augment_check)
        form.addRow(self.pen_check)
        form.addRow(self.my_digits_check)
        self.form_error = QLabel()
        self.form_error.setObjectName("formError")
        self.form_error.setWordWrap(True)
        self.form_error.setVisible(False)
        self.apply_theme(app_theme())

        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.stop_button):
            b.setMinimumHeight(30)
            buttons.addWidget(b)
        self._explain(self.pause_button, "Pause or resume training (Ctrl+P); the window stays usable meanwhile.")
        self._explain(self.stop_button, "Stop after the current batch (Ctrl+.): what the network learnt so far "
                      "is measured on the test set.")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("trainingProgress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("ready")
        self.progress_bar.setTextVisible(True)
        self.detail_label = StatusText(" ")   # a QLabel would re-lay-out the window at every tick
        self.detail_label.setObjectName("trainingDetail")

        # The fields scroll when the window is short (a 1024x600 netbook); the error line, the buttons
        # and the progress stay in view under them.
        fields = QWidget()
        fields.setLayout(form)
        form.setContentsMargins(0, 0, 0, 0)
        self.form_scroll = QScrollArea()
        self.form_scroll.setObjectName("trainScroll")
        self.form_scroll.setWidget(fields)
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.form_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.form_scroll.setMinimumWidth(fields.minimumSizeHint().width()
                                         + self.form_scroll.verticalScrollBar().sizeHint().width())
        self.form_scroll.setMinimumHeight(120)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form_scroll, 1)
        layout.addWidget(self.form_error)
        layout.addSpacing(6)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.detail_label)

        self.train_button.clicked.connect(self.request_train)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.request_stop)
        self.preset_combo.currentTextChanged.connect(self.apply_preset)
        for combo in self.combos.values():
            combo.currentTextChanged.connect(self._revalidate)
        self.augment_check.toggled.connect(self._revalidate)
        self.pen_check.toggled.connect(self._revalidate)
        self.my_digits_check.toggled.connect(self._revalidate)
        self.apply_preset(DEFAULT_PRESET)
        self.set_state(IDLE)

    def apply_theme(self, theme: Theme) -> None:
        """Colours of a bad field and of the error line, for the palette's light or dark scheme."""
        t = theme
        self.setStyleSheet(f'QLineEdit[invalid="true"] {{ border: 1px solid {t.invalid_field}; '
                           f'background: {t.invalid_background}; color: {t.invalid_text}; }}')
        self.form_error.setStyleSheet(f"color: {t.error};")

    @staticmethod
    def _explain(widget: QWidget, text: str) -> None:
        widget.setToolTip(text)
        widget.setWhatsThis(text)

    # -- values -----------------------------------------------------------------------------------
    def apply_preset(self, name: str) -> None:
        """Fill every field from a preset ("custom": the user's last edits)."""
        if name == CUSTOM:
            if self._custom is not None:
                self._base = PRESETS.get(self._custom["base"], self._base)   # the preset those edits were of
                self._fill(self._custom)
            return
        preset = PRESETS.get(name) or PRESETS[DEFAULT_PRESET]
        if self.preset_combo.currentText() != preset.name:
            self.preset_combo.setCurrentText(preset.name)   # re-enters through currentTextChanged
            return
        self._base = preset
        cfg = preset.config
        self._fill({"activation": cfg.activation, "optimizer": cfg.optimizer, "schedule": cfg.schedule,
                    "augment": cfg.augment, "pen": cfg.pen_digits > 0, "my_digits": cfg.my_digits > 0,
                    **{key: _fmt(getattr(cfg, key)) for key in self.edits}})

    def _fill(self, values: dict) -> None:
        self._applying = True
        try:
            for key, combo in self.combos.items():
                if combo.findText(str(values.get(key))) >= 0:
                    combo.setCurrentText(str(values[key]))
            for key, edit in self.edits.items():
                if isinstance(values.get(key), str):
                    edit.setText(values[key])
            if isinstance(values.get("augment"), bool):
                self.augment_check.setChecked(values["augment"])
            if isinstance(values.get("pen"), bool):
                self.pen_check.setChecked(values["pen"])
            if isinstance(values.get("my_digits"), bool):
                self.my_digits_check.setChecked(values["my_digits"] and self._my_digits_ok)
                self._my_digits_wanted = values["my_digits"] and not self._my_digits_ok
        finally:
            self._applying = False
        self._revalidate()

    def set_my_digits(self, count: int, minimum: int) -> None:
        """How many drawings My digits holds: "Include my digits" is offered from ``minimum`` on."""
        self._my_digits_ok = count >= minimum
        self.my_digits_check.setEnabled(self._state == IDLE and self._my_digits_ok)
        if self._my_digits_ok and self._my_digits_wanted:
            self._my_digits_wanted = False
            self.my_digits_check.setChecked(True)
        if not self._my_digits_ok and self.my_digits_check.isChecked():
            self.my_digits_check.setChecked(False)
        self._explain(self.my_digits_check, f"{self._my_digits_tip}\nMy digits holds {count:,} drawing"
                      f"{'s' if count != 1 else ''}" + ("." if self._my_digits_ok else f": save at least {minimum} "
                                                       "first (click the right bar, or press its key on the canvas)."))

    def set_field(self, key: str, text: str) -> None:
        """Type ``text`` into one field (as a user would); for scripts and tests."""
        self.edits[key].setText(text)

    def set_dataset_size(self, n_train: int | None) -> None:
        """How many training images the dataset in use holds (None: not known yet); fields are checked
        against it (a limit larger than the dataset, a validation split that leaves nothing)."""
        self._n_train = n_train
        self._revalidate()

    def config(self) -> TrainingConfig | None:
        """The configuration the fields describe, or None while any field is invalid."""
        return self._config

    def errors(self) -> dict[str, str]:
        """Field name -> why it is invalid; ``"dataset"`` when the dataset cannot hold the run (too few
        images for the validation split)."""
        return dict(self._errors)

    def validation_size(self) -> int:
        """Images a run from this panel holds out for validation (its preset's: no field sets it)."""
        return self._base.config.val_size

    def _values(self) -> dict:
        return {**{key: combo.currentText() for key, combo in self.combos.items()},
                "augment": self.augment_check.isChecked(), "pen": self.pen_check.isChecked(),
                "my_digits": self.my_digits_check.isChecked(), **{key: e.text() for key, e in self.edits.items()}}

    def _revalidate(self, *_) -> None:
        errors: dict[str, str] = {}
        values = {}
        for key, (_, parse, _) in FIELDS.items():
            try:
                values[key] = parse(self.edits[key].text())
            except ConfigError as exc:
                errors[key] = str(exc)
        config = None
        if not errors:
            values.update({key: combo.currentText() for key, combo in self.combos.items()},
                          augment=self.augment_check.isChecked(), **self._pen_values(),
                          my_digits=MY_DIGITS_SHARE if self.my_digits_check.isChecked() else 0.0)
            config = replace(self._base.config, **values)
            # The preset's name is kept only while the run is exactly that preset.
            config = replace(config, preset=self._base.name if config == self._base.config else None)
            try:
                config.validate(n_train=self._n_train)
            except ConfigError as exc:   # what no single field can see (a network too large to train)
                errors[exc.field if exc.field in self.edits else DATASET] = str(exc)
                config = None
        self._errors, self._config = errors, config
        self._show_custom(config)
        for key, edit in self.edits.items():
            invalid = key in errors
            if edit.property("invalid") != invalid:
                edit.setProperty("invalid", invalid)
                edit.style().unpolish(edit)
                edit.style().polish(edit)
            edit.setToolTip(errors[key] if invalid else FIELDS[key][2])
        if errors:
            key, message = next(iter(errors.items()))
            self.form_error.setText(message[:1].upper() + message[1:] if key in FIELDS else f"Cannot train: {message}")
        self.form_error.setVisible(bool(errors))
        self.schedule_view.show_schedule(*self._schedule_inputs())
        self._update_buttons()

    def _pen_values(self) -> dict:
        """The pen-digit and scribble shares the check box stands for: the preset's own when it has
        them, else the recipe we measured (a quarter of each batch pen digits, 5% scribbles)."""
        if not self.pen_check.isChecked():
            return {"pen_digits": 0.0, "scribbles": 0.0}
        base = self._base.config
        return {"pen_digits": base.pen_digits or PEN_SHARE, "scribbles": base.scribbles or SCRIBBLE_SHARE}

    def _show_custom(self, config: TrainingConfig | None) -> None:
        """The preset box says "custom" as soon as the fields differ from the preset they came from."""
        if self._applying:
            self.preset_summary.setText(self._base.summary)
            return
        edited = config is None or config.preset is None
        if edited:
            self._custom = {"base": self._base.name, **self._values()}
        if edited and self.preset_combo.currentText() != CUSTOM:
            self.preset_combo.blockSignals(True)
            self.preset_combo.setCurrentText(CUSTOM)
            self.preset_combo.blockSignals(False)
            self.preset_summary.setText(f"Custom: your edits of {self._base.name} (pick a preset to start over; "
                                        f"'custom' brings these back).")
        elif not edited and self.preset_combo.currentText() == CUSTOM:   # edited back to the preset itself
            self.preset_combo.blockSignals(True)
            self.preset_combo.setCurrentText(self._base.name)
            self.preset_combo.blockSignals(False)
            self.preset_summary.setText(self._base.summary)

    def _schedule_inputs(self) -> tuple[str, float | None, int | None]:
        def number(key):
            try:
                return BOUNDS[key].parse(self.edits[key].text(), key)
            except ConfigError:
                return None
        return self.schedule_combo.currentText(), number("lr"), number("epochs")

    # -- state ------------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def set_state(self, state: str) -> None:
        self._state = state
        editable = state == IDLE
        for w in (self.preset_combo, self.augment_check, self.pen_check, *self.combos.values(), *self.edits.values()):
            w.setEnabled(editable)
        self.my_digits_check.setEnabled(editable and self._my_digits_ok)
        self.pause_button.setText("Resume" if state == PAUSED else "Pause")
        self.pause_button.setEnabled(state in (TRAINING, PAUSED))
        self.stop_button.setEnabled(state in (LOADING, TRAINING, PAUSED))
        if state == LOADING:
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat("loading the dataset…")
        elif state == STOPPING:
            self.progress_bar.setFormat("stopping… (measuring test accuracy)")
        elif state == PAUSED:
            ev = self._last_progress
            where = f"epoch {ev.epoch}/{ev.epochs} · batch {ev.batch}/{ev.batches}" if ev else "before the first batch"
            self.progress_bar.setFormat(f"paused · {where}")
            self.detail_label.setText("paused: press Resume (Ctrl+P) to go on, or Stop (Ctrl+.) to end the run "
                                      "and measure it")
        self._update_buttons()

    def _update_buttons(self) -> None:
        if self._state != IDLE:
            self.train_button.setEnabled(False)
            self.train_button.setToolTip("training is in progress")
        elif self._errors:
            self.train_button.setEnabled(False)
            self.train_button.setToolTip("Cannot train: " + next(iter(self._errors.values())))
        else:
            self.train_button.setEnabled(True)
            self.train_button.setToolTip("Train a new network with these settings (Ctrl+Return); the bars follow "
                                         "it as it learns, and it joins the Models tab when it ends (a completed "
                                         "run becomes the current model)")

    # What the buttons (and the window's menu and shortcuts) do; each is a no-op when its button is off.
    def request_train(self) -> None:
        if self._state == IDLE and self._config is not None:
            self.train_requested.emit(self._config)

    def toggle_pause(self) -> None:
        if self._state == TRAINING:
            self.set_state(PAUSED)
            self.pause_requested.emit()
        elif self._state == PAUSED:
            self.set_state(TRAINING)
            self.resume_requested.emit()

    def request_stop(self) -> None:
        if self._state in (LOADING, TRAINING, PAUSED):
            self.set_state(STOPPING)
            self.stop_requested.emit()

    # -- progress ---------------------------------------------------------------------------------
    def show_started(self, info) -> None:
        """The job built the network (a :class:`~mnist_gui.jobs.TrainingStarted`)."""
        self.show_starting(f"{info.description} · {info.n_params:,} parameters · {info.n_train:,} images")

    def show_starting(self, detail: str) -> None:
        """A run (a training, a fine-tune) has its data and starts; ``detail`` says what it is."""
        self._last_progress = None
        if self._state == LOADING:
            self.set_state(TRAINING)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("starting…")
        self.detail_label.setText(detail)

    def show_progress(self, ev: BatchProgress) -> None:
        self._last_progress = ev
        if self._state == PAUSED:   # the last batch before the pause took effect: keep saying "paused"
            return
        self.progress_bar.setValue(int(1000 * ev.step / max(1, ev.total_steps)))
        self.progress_bar.setFormat(f"epoch {ev.epoch}/{ev.epochs} · batch {ev.batch}/{ev.batches}")
        self.detail_label.setText(f"{ev.samples_per_second:,.0f} images/s · {_duration(ev.eta)} left · "
                                  f"loss {ev.smoothed_loss:.3f} (recent batches)")

    def show_finished(self, result) -> None:
        """The run's :class:`~mnist_gui.training.TrainingFinished`: full bar if completed, and the summary."""
        if result.status == "completed":
            self.progress_bar.setValue(self.progress_bar.maximum())
        self.progress_bar.setFormat(("done" if result.status == "completed" else result.status) + " · %p%")
        self.detail_label.setText(f"{result.reason} · test accuracy {result.test_accuracy:.2%} · "
                                  f"{_duration(result.train_seconds, precise=True)} of training, "
                                  f"{result.samples_per_second:,.0f} images/s")

    def show_failed(self, message: str) -> None:
        self.progress_bar.setFormat("failed")
        self.detail_label.setText(message)

    # -- settings ---------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"preset": self.preset_combo.currentText(), "base": self._base.name, **self._values()}

    def restore(self, d: dict) -> None:
        """Restore fields saved by :meth:`state_dict`; unknown, missing or damaged entries are ignored."""
        if not isinstance(d, dict):
            return
        # Only short texts and booleans: a damaged settings file may hold anything (huge or nested values).
        d = {key: value for key, value in d.items()
             if isinstance(key, str) and (isinstance(value, bool) or (isinstance(value, str) and len(value) <= 1000))}
        base = d.get("base") if d.get("preset") == CUSTOM else d.get("preset")
        if isinstance(base, str) and base in PRESETS:
            self.apply_preset(base)
        self._fill({k: v for k, v in d.items() if k != "preset"})
