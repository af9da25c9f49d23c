"""One exception type per kind of bad input, each with a message a person can act on.

Readers, loaders and validators raise these; the CLI turns them into ``error: ...`` and exit
code 2, the GUI into a dialog. Anything else escaping is a bug.
"""


class MnistGuiError(Exception):
    """Base of every error this application reports to its user."""


class DatasetError(MnistGuiError):
    """A dataset file or folder is missing, malformed or fails its checksum."""


class DownloadError(DatasetError):
    """A dataset download failed, was cancelled, or delivered something unverifiable."""


class ModelFileError(MnistGuiError):
    """A model file cannot be read, is malformed, or cannot be written."""


class ConfigError(MnistGuiError):
    """Invalid training hyper-parameters or preset name.

    ``field`` names the setting the message is about (a :class:`~mnist_gui.training.TrainingConfig`
    field such as ``"lr"``), or is None when no single setting is to blame, so a form can show the
    message beside the right field without guessing from its wording.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ImageError(MnistGuiError):
    """An image given to ``predict`` cannot be read or used."""


class LibraryError(MnistGuiError):
    """The library of runs cannot do what was asked: an unknown run, a read-only one, or a write
    that failed (the library is then left as it was)."""
