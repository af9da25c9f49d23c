"""The window's side of the library of runs: the Models panel's requests, answered.

:class:`ModelsController` owns the :class:`~mnist_gui.state.library.RunLibrary` the window uses and
the :class:`~mnist_gui.ui.models_panel.ModelsPanel`, and does what the panel asks: make a run the
current model, rename, delete (with undo), reveal a run's folder, import a model file, compare runs,
export their metrics or a plot, continue training the current model; and, when a run ends, applies
the rule for the current model (:func:`~mnist_gui.state.models.becomes_current`) and tells the user
what happened. It decides what the plots show: several ticked runs overlaid, else the run in
training while the bars follow it, else the current model's stored curves.

It works through the window's narrow methods (``set_model``, ``show_error``, ``start_training``...)
and never reaches into other widgets' insides; the window only wires it in.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices

from mnist_gui.errors import ConfigError, LibraryError, ModelFileError
from mnist_gui.state.compare import write_metrics
from mnist_gui.state.library import SHIPPED_ID, RunLibrary, RunRecord
from mnist_gui.training.continuation import continue_config, history_of
from mnist_gui.ui.compare_dialogs import ConfigComparison, PredictionComparison
from mnist_gui.ui.models_panel import ModelsPanel
from mnist_gui.ui.plot_export import export_plot

#: The name the old autosave file (``model/last`` pointed to it) gets when it is imported once.
LEGACY_AUTOSAVE = "last-trained.npz"


class ModelsController(QObject):
    def __init__(self, window, library: RunLibrary) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.panel = ModelsPanel()
        self.warnings: list[str] = []        # every library warning shown so far
        self._undo: tuple[list[str], str | None] | None = None   # (trash tokens, the current id they held)
        self._deleted: list[str] = []        # trash tokens of this session, emptied at shutdown
        self._live_view: str | None = None   # the plots' title while they show a finished run's live curves
        self._config_dialog: ConfigComparison | None = None
        self._prediction_dialog: PredictionComparison | None = None
        p = self.panel
        for signal, slot in ((p.chosen, self.choose), (p.rename_requested, self.rename),
                             (p.delete_requested, self.delete), (p.undo_requested, self.undo_delete),
                             (p.reveal_requested, self.reveal), (p.ticked_changed, lambda _: self.update_plots()),
                             (p.compare_configs_requested, self.compare_configs),
                             (p.compare_predictions_requested, self.compare_predictions),
                             (p.continue_requested, self.continue_training),
                             (p.follow_live_requested, self.follow_live)):
            signal.connect(slot)

    @property
    def slots(self):
        return self.window.model_slots

    # -- listing ---------------------------------------------------------------------------------
    def refresh(self, follow_elsewhere: bool = True) -> list[RunRecord]:
        """Read the library again and show it. With ``follow_elsewhere``, a current model chosen by another
        program (the command line, another window) is taken over, unless a run is training or the
        current model here is not in the library (it would be lost)."""
        records = self._records_now()
        ids = {r.id for r in records}
        slots = self.slots
        if follow_elsewhere and not slots.training and slots.record is not None:
            remembered = self.library.current()
            if remembered is not None and remembered.id != slots.current_id:
                if self.choose(remembered.id, remember=False):
                    self.window.statusBar().showMessage(
                        f"the current model was changed elsewhere: now {remembered.name!r}", 10000)
        if slots.record is not None and slots.current_id not in ids:
            slots.record = None   # deleted elsewhere: the model stays in memory, no longer in the library
        self.panel.set_records(records, slots.current_id)
        return records

    def _warn(self, text: str) -> None:
        self.warnings.append(text)
        self.window.statusBar().showMessage(f"Library: {text}", 15000)

    def _report_new_warnings(self) -> None:
        for warning in self.library.new_warnings:
            self._warn(warning)

    def _records_now(self) -> list[RunRecord]:
        """The library listed now; a damaged record found for the first time is reported (once)."""
        records = self.library.records()
        self._report_new_warnings()
        return records

    def _curves(self, run_id: str):
        curves = self.library.curves(run_id)
        self._report_new_warnings()
        return curves

    def summaries(self) -> list[dict]:
        current = self.slots.current_id
        return [r.summary(r.id == current) for r in self._records_now()]

    # -- the current model -------------------------------------------------------------------------
    def start(self, model_path: str | None, settings) -> None:
        """At start-up: bring in a model the old settings remembered (once), then open ``model_path``
        (imported), or the current model the library remembers, or the shipped one."""
        self._migrate(settings)
        if model_path and self.open_file(model_path):
            return
        for record in (self.library.current(), self.library.find(SHIPPED_ID)):
            if record is not None and self.choose(record.id, quiet=True):
                return
        self.window.set_model(None, "", None)
        self.refresh(follow_elsewhere=False)

    def _migrate(self, settings) -> None:
        """The window used to remember its model in the settings (``model/last``), often the autosaved
        ``last-trained.npz``: import it into the library once, and make it current if nothing is."""
        last = settings.last_model
        if not last:
            return
        settings.last_model = None
        path = Path(last)
        if not path.is_file() or self.library.folder in path.resolve().parents:
            return
        name = "last trained (kept before the library)" if path.name == LEGACY_AUTOSAVE else None
        try:
            record, _ = self.library.import_model(path, name)
            if self.library.current_id() is None:
                self.library.set_current(record.id)
        except (ModelFileError, LibraryError) as exc:
            self._warn(f"could not bring {path} into the library: {exc}")

    def choose(self, run_id: str, quiet: bool = False, remember: bool = True) -> bool:
        """Make a run the current model: its model predicts, its curves are plotted, and the library
        remembers it. A model that cannot be loaded changes nothing (an error says why)."""
        record = self.library.find(run_id)
        try:
            if record is None:
                raise LibraryError(f"no run {run_id!r} in the library")
            model = self.library.load_model(run_id)
        except (LibraryError, ModelFileError) as exc:
            if quiet:
                self._warn(f"could not open {record.name if record else run_id!r}: {exc}")
            else:
                self.window.show_error("Cannot use this model", f"{exc}\n\nThe current model stays.")
                self.panel.set_current(self.slots.current_id)
            return False
        if remember:
            try:
                self.library.set_current(run_id)
            except LibraryError as exc:
                self._warn(f"{exc} (it is the current model until the window closes)")
        self._live_view = None
        self.window.set_model(model, record.name, record)
        self.panel.set_records(self._records_now(), run_id)
        self.panel.set_training(self.slots.training, self.slots.following_live)
        self.update_plots()
        return True

    def open_file(self, path: str) -> bool:
        """Open a model file: it joins the library (once: the same file again is the same run) and
        becomes the current model. A file that is not a usable model changes nothing."""
        try:
            record, new = self.library.import_model(path)
        except ModelFileError as exc:
            self.window.show_error("Cannot open model", f"{exc}\n\nThe previous model stays loaded.")
            return False
        except LibraryError as exc:
            self.window.show_error("Cannot add the model to the library", f"{exc}\n\nThe previous model stays loaded.")
            return False
        if not self.choose(record.id):
            return False
        self.window.statusBar().showMessage(f"{Path(path).name}: " + ("added to the library" if new else
                                            f"already in the library as {record.name!r}"), 8000)
        return True

    def follow_live(self) -> None:
        """Bars and curves follow the run in training again."""
        if self.slots.follow_live():
            self.window.refresh_prediction()
            self.panel.set_training(True, True)
            self.update_plots()

    def update_plots(self) -> None:
        """Show what the plots should: ticked runs overlaid, else the run in training (while the bars
        follow it), else a run that just ended, else the current model's stored curves."""
        plots, slots, ticked = self.window.plots, self.slots, self.panel.ticked()
        if len(ticked) >= 2:
            plots.overlay([(r.name, self._curves(r.id)) for r in (self.library.find(i) for i in ticked) if r])
        elif slots.training and slots.following_live:
            plots.show_live(self.window.live_title())
        elif self._live_view is not None:
            plots.show_live(self._live_view)
        elif slots.record is not None:
            plots.show_curves(self._curves(slots.record.id), f"Curves of {slots.record.name}")
        elif slots.loaded is not None:
            plots.show_live("Curves of the model in memory (not in the library)")
        else:
            plots.show_curves(None, "No model")

    # -- a run ends ----------------------------------------------------------------------------
    def training_finished(self, outcome) -> bool:
        """A run ended (its :class:`~mnist_gui.jobs.TrainingOutcome`): it is in the library (unless writing it
        failed); apply the rule for the current model and say what happened. Returns whether it became current."""
        r, record = outcome.result, outcome.record
        watching = self.slots.following_live   # the user was watching the run (not a model chosen meanwhile)
        adopted = self.slots.finish_training(r, outcome.model, record)
        if adopted and record is not None:
            try:
                self.library.set_current(record.id)
            except LibraryError as exc:
                self._warn(str(exc))
        self.refresh(follow_elsewhere=False)
        self.panel.set_training(False)
        name = record.name if record is not None else "the trained model"
        # The plots keep showing what the user was looking at: the run they watched, or the model they chose.
        self._live_view = (f"Curves of {name}" + ("" if adopted else " (not the current model)")
                           if adopted or watching else None)
        self.update_plots()
        if record is None:
            return adopted
        notice = self.window.notice
        if adopted:
            self.window.statusBar().showMessage(f"{name!r} joined the library and is now the current model", 10000)
            notice.dismiss()
        else:
            why = {"stopped": f"Training was stopped ({r.reason})",
                   "diverged": "Training diverged (its last healthy weights were kept)"}.get(
                r.status, f"Training completed, but you chose {self.slots.source!r} while it trained")
            acc = f"{r.test_accuracy:.2%}" if r.test_accuracy == r.test_accuracy else "unknown"
            notice.show_notice(f"{why}. The run joined the library as {name!r} (test accuracy {acc}); the current "
                               f"model is still {self.slots.source!r}.", "Use it",
                               lambda run_id=record.id: self.choose(run_id))
        return adopted

    # -- changing runs ----------------------------------------------------------------------------
    def rename(self, run_id: str, name: str) -> bool:
        try:
            record = self.library.rename(run_id, name)
        except LibraryError as exc:
            self.window.show_error("Cannot rename", str(exc))
            self.refresh(follow_elsewhere=False)
            return False
        if self.slots.current_id == run_id:
            self.slots.record, self.slots.source = record, record.name
            self.window.show_current_model()
        self.refresh(follow_elsewhere=False)
        if self.panel.ticked() or self.slots.current_id == run_id:
            self.update_plots()
        return True

    def delete(self, ids: list[str]) -> bool:
        """Move runs to the trash (Undo brings them back until the window closes). Deleting the current
        model makes the shipped one current."""
        current = self.slots.current_id
        tokens, names = [], []
        for run_id in ids:
            try:
                record = self.library.get(run_id)
                tokens.append(self.library.delete(run_id))
                names.append(record.name)
            except LibraryError as exc:
                self.window.show_error("Cannot delete", str(exc))
        if not tokens:
            return False
        self._deleted += tokens
        was_current = current if current in ids else None
        self._undo = (tokens, was_current)
        self.panel.set_ticked([i for i in self.panel.ticked() if i not in ids])
        self.panel.set_undo(f"Bring back {', '.join(repr(n) for n in names)}")
        if was_current is not None:
            # Not a choice of the user's: a run in training may still become current when it completes.
            chosen, following = self.slots.chosen_during_run, self.slots.following_live
            fallback = self.library.current()
            if fallback is None or not self.choose(fallback.id):
                self.slots.record = None
            self.slots.chosen_during_run, self.slots.following_live = chosen, following
            self.panel.set_training(self.slots.training, following)
            self.window.refresh_prediction()
        self.refresh(follow_elsewhere=False)
        self.update_plots()
        self.window.statusBar().showMessage(f"deleted {', '.join(repr(n) for n in names)} (Undo delete in the "
                                            "Models panel brings them back)", 10000)
        return True

    def undo_delete(self) -> bool:
        if self._undo is None:
            return False
        tokens, was_current = self._undo
        self._undo = None
        self.panel.set_undo(None)
        restored = []
        for token in tokens:
            try:
                restored.append(self.library.restore(token))
                self._deleted.remove(token)
            except LibraryError as exc:
                self.window.show_error("Cannot undo the deletion", str(exc))
        if was_current is not None and any(r.id == was_current for r in restored):
            self.choose(was_current)
        self.refresh(follow_elsewhere=False)
        return bool(restored)

    def reveal(self, run_id: str) -> bool:
        """Show the run's folder (the shipped model's: where it is installed) in the file manager."""
        record = self.library.find(run_id)
        if record is None:
            return False
        folder = record.folder or record.model_path.parent
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.window.show_error("Cannot show the folder", f"No file manager opened {folder}.")
            return False
        return True

    # -- comparing, exporting, continuing ---------------------------------------------------------
    def _records(self, ids: list[str]) -> list[RunRecord]:
        return [r for r in (self.library.find(i) for i in ids) if r is not None]

    def compare_configs(self, ids: list[str]) -> ConfigComparison | None:
        records = self._records(ids)
        if len(records) < 2:
            self.window.show_error("Compare runs", "Tick two or more runs to compare their settings.")
            return None
        if self._config_dialog is None:
            self._config_dialog = ConfigComparison(self.window)
        self._config_dialog.show_runs(records)
        self._config_dialog.show()
        self._config_dialog.raise_()
        return self._config_dialog

    def compare_predictions(self, ids: list[str]) -> PredictionComparison | None:
        records = self._records(ids)
        if len(records) != 2:
            self.window.show_error("Compare predictions", "Tick exactly two runs to compare their predictions.")
            return None
        try:
            models = [self.library.load_model(r.id) for r in records]
        except (LibraryError, ModelFileError) as exc:
            self.window.show_error("Compare predictions", str(exc))
            return None
        if self._prediction_dialog is None:
            self._prediction_dialog = PredictionComparison(self.window)
        dialog = self._prediction_dialog
        dialog.set_models(models, [r.name for r in records])
        dialog.show_input(self.window.input_image())
        dialog.show()
        dialog.raise_()
        return dialog

    def drawing_changed(self, image) -> None:
        """The drawing changed: an open predictions comparison follows it."""
        if self._prediction_dialog is not None and self._prediction_dialog.isVisible():
            self._prediction_dialog.show_input(image)

    def export_metrics(self, ids: list[str], path: str) -> bool:
        """The runs' metrics to ``path`` (.csv: CSV, else JSON)."""
        records = self._records(ids)
        if not records:
            self.window.show_error("Export metrics", "No run chosen: tick runs or select one.")
            return False
        try:
            fmt = write_metrics(path, [(r, self._curves(r.id)) for r in records])
        except OSError as exc:
            self.window.show_error("Cannot export metrics", f"{path}: {exc.strerror or exc}")
            return False
        self.window.statusBar().showMessage(f"wrote the metrics of {len(records)} run(s) to {path} ({fmt})", 8000)
        return True

    def export_plot(self, which: str, fmt: str, path: str) -> bool:
        try:
            export_plot(self.window.plots, which, fmt, path)
        except OSError as exc:
            self.window.show_error("Cannot export the plot", f"{path}: {exc.strerror or exc}")
            return False
        self.window.statusBar().showMessage(f"wrote the {which} plot to {path}", 8000)
        return True

    def continue_training(self, epochs: int) -> bool:
        """Train the current model ``epochs`` more epochs from its weights, with the Train tab's other
        settings (optimizer, learning rate, batch size...); its curves go on where they stopped."""
        model, record = self.slots.loaded, self.slots.record
        if model is None:
            self.window.show_error("Nothing to continue", "No model is loaded: train one first.")
            return False
        config = self.window.panel.config()
        if config is None:
            first = next(iter(self.window.panel.errors().values()), "a field is invalid")
            self.window.show_error("Cannot continue training", f"Fix the Train tab first: {first}")
            return False
        try:
            config = continue_config(dataclasses.replace(config, epochs=int(epochs)), model)
            config.validate()
        except ConfigError as exc:
            self.window.show_error("Cannot continue training", str(exc))
            return False
        parent_curves = self._curves(record.id) if record is not None else None
        return self.window.start_training(config, initial=model.copy(), parent=record, parent_curves=parent_curves,
                                          epochs_before=len(history_of(model)))

    def training_started(self) -> None:
        self._live_view = None
        self.panel.set_training(True, True)
        self.update_plots()

    def shutdown(self) -> None:
        """Empty the trash of this session's deletions (they can no longer be undone)."""
        for token in self._deleted:
            self.library.purge(token)
        self._deleted = []
