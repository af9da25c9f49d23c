"""The network engine: layers, the fused softmax cross-entropy loss, initializers, optimizers.

Plain NumPy, float32 end to end, no Qt. Every layer keeps its parameters and gradients side by
side (``params`` / ``grads``); :class:`~mnist_gui.nn.network.Network` packs all of them into two
flat vectors so an optimizer step is a handful of NumPy calls, whatever the depth.
"""

from mnist_gui.nn.layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh, Layer, ACTIVATIONS
from mnist_gui.nn.losses import SoftmaxCrossEntropy, softmax
from mnist_gui.nn.init import INITIALIZERS
from mnist_gui.nn.network import Network, build_mlp
from mnist_gui.nn.optim import OPTIMIZERS, Adam, Momentum, Nesterov, Optimizer, RMSProp, SGD, make_optimizer
from mnist_gui.nn.schedules import SCHEDULES, make_schedule

__all__ = [
    "ACTIVATIONS", "Adam", "INITIALIZERS", "Dense", "Dropout", "Layer", "LeakyReLU", "Momentum", "Nesterov", "Network",
    "OPTIMIZERS", "Optimizer", "RMSProp", "ReLU", "SCHEDULES", "SGD", "Sigmoid", "SoftmaxCrossEntropy",
    "Tanh", "build_mlp", "make_optimizer", "make_schedule", "softmax",
]
