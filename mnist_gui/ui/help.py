"""The "How this works" page (F1): what the window shows and what the network does, in plain words.

A learner meets a network, a loss curve and a bar chart; this page says what each one is, what the
settings change, and why a drawing is not an MNIST digit until it has been preprocessed. It is one
scrollable, non-modal dialog, so it can stay open beside the window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

HOW_IT_WORKS = """
<h2>How this works</h2>

<h3>The network</h3>
<p>A <b>multilayer perceptron</b> written in plain NumPy. The 28&times;28 picture enters as 784 numbers
(one per pixel). Each <b>hidden layer</b> multiplies them by a matrix of <b>weights</b>, adds a
<b>bias</b> and passes the result through an <b>activation</b> (ReLU by default: negative values become 0).
The last layer gives 10 numbers, one per digit; <b>softmax</b> turns them into the probabilities the bar
chart shows. The default network, 784-256-128-10, has about 235,000 weights.</p>

<h3>Training</h3>
<p>Training shows the network a <b>batch</b> of labelled digits (128 by default), measures how wrong it is
with the <b>cross-entropy loss</b> (small when the right digit gets a high probability), and uses
<b>backpropagation</b> to find, for every weight, which way to nudge it to make the loss smaller. The
<b>optimizer</b> takes that nudge (its size is the <b>learning rate</b>). One pass over all 55,000 training
images is an <b>epoch</b>. 5,000 images are held back as a <b>validation</b> set, which the network never
learns from: it shows honestly how well it does on digits it has not seen. The 10,000 <b>test</b> images
are used once, at the end.</p>

<h3>Reading the curves</h3>
<ul>
<li><b>Loss</b>, lower is better: the thin line follows the recent batches, the dots are each epoch's
average on the training images and on the validation images.</li>
<li><b>Accuracy</b>, higher is better: the share of digits read right. The star is the test accuracy.</li>
<li>When the training curve keeps improving but the validation curve stops or turns back, the network
has started to <b>memorize</b> its training images instead of learning digits: more epochs will not help;
dropout, weight decay (L2) or augmentation will.</li>
<li>A loss that shoots up means the learning rate is too high: training stops and keeps the last healthy
weights.</li>
</ul>

<h3>Drawing</h3>
<p>An MNIST digit is small, centred and drawn with a pen of a certain width; a drawing can be anywhere, any
size, with any pen. So before the network sees your drawing it is <b>preprocessed</b> the way MNIST was
made: cropped to the ink, its pen evened out, scaled so its longer side is 20 pixels, and centred by its
centre of mass in a 28&times;28 field. <i>What the network sees</i> shows the result. While a network
trains, the bars of your drawing follow the newest weights: you can watch it learn.</p>

<h3>Models</h3>
<p>Every training joins the <b>Models</b> tab (Ctrl+M) with its curves, settings and results; the shipped
model is always there. Click a model to use it: the bars come from it, the plots show its curves, and the
line above the bars always names the model speaking (or says <i>in training</i>). A run that completes
becomes the current model; a stopped or diverged one waits in the list, and a notice offers it. Tick two
or more models to overlay their curves and compare their settings; <b>Continue training</b> gives the
current model more epochs from where it stopped.</p>

<h3>Looking inside</h3>
<p>The tabs beside <i>Curves</i> show the model the bars come from. The <b>Confusion matrix</b> counts, for
each true digit, what the network read (the test set; during training the validation set, epoch by
epoch); click a cell to see those images in the <b>Gallery</b>, where clicking a tile puts it on the canvas
as if you had drawn it. <b>Weights</b> shows what each first-layer unit looks for (red excites, blue
inhibits); <b>Inside</b> shows each layer's activations for your drawing and which pixels push towards the
answer (red) or against it (blue); the <b>Map of digits</b> places 2,000 test images by the last hidden
layer, with a star for your drawing. The <b>epoch</b> slider replays a run: the bars and the views as they
were after any epoch. Right-click a tab to open that view in a window of its own.</p>
<h3>Teach it your handwriting</h3>
<p>When the network misreads your drawing, tell it the right digit in one gesture: click that digit's bar,
press its key (0-9) with the canvas focused, or use <b>That's a…</b>; <b>Keep</b> (or Enter) saves a drawing
it read right. The drawing (its pen strokes and the 28&times;28 input) goes to <b>My digits</b>, a set kept
in your data folder, and the canvas clears for the next one; Ctrl+Shift+Z undoes it. The <b>My digits</b> tab
shows the set with the current model's reading of each drawing (&#10003; right, &#10007; wrong) and its
accuracy on the whole set; select drawings to relabel them (0-9) or delete them (Delete). <b>Learn from my
digits</b> fine-tunes a copy of the current model on them: each drawing is re-drawn in a few pen styles and
distorted, since there are few, and mixed with MNIST images so that the network does not forget MNIST. Part
of your digits is held out of the learning, so the before/after figure for them is honest; the MNIST test
figure shows what it cost. The new model joins the Models tab and becomes current (one click goes back).
<b>Include my digits</b> in the Train tab mixes them into a whole training run instead.</p>

<h3>The settings</h3>
<p>Every field explains itself: hover over it, or press Shift+F1 and click it. The presets reproduce the
write-ups this app grew from, and our own <i>fast</i> (the default: over 98% in seconds) and <i>best</i>
(99.3%, a few minutes) recipes. <b>Augment</b> distorts every batch a little (rotation, size, slant, pen),
which teaches the network to read real handwriting better.</p>
"""


class HelpDialog(QDialog):
    """A non-modal window with :data:`HOW_IT_WORKS` and, below it, the keyboard shortcuts."""

    def __init__(self, shortcuts: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("How this works")
        self.setObjectName("helpDialog")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        rows = "".join(f"<tr><td><b>{keys}</b>&nbsp;&nbsp;&nbsp;</td><td>{what}</td></tr>" for keys, what in shortcuts)
        self.browser.setHtml(HOW_IT_WORKS + f"<h3>Keyboard shortcuts</h3><table>{rows}</table>")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(620, 640)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)

    def text(self) -> str:
        return self.browser.toPlainText()
