"""The shape of the problem, in one place: 28x28 grey images of the digits 0-9.

Every module that needs these numbers imports them from here, so "784" is written once.
"""

#: Side of an input image, in pixels (MNIST's field).
SIDE = 28
#: Pixels per image: the network's input size.
PIXELS = SIDE * SIDE
#: Digits 0-9: the network's output size.
CLASSES = 10
