"""Networks: the general :class:`Sequential` container and the book's networks.

``sequential`` holds the container (it knows no concrete layer); ``network`` the base
class with one config object per network and the registry of network classes shared by
save/load and the command line; one module per book network.
"""

from mitbadak.models.deep_convnet import DeepConvNet
from mitbadak.models.multi_layer_net import MultiLayerNet
from mitbadak.models.network import CLI_MODELS, MODELS, BuildOptions, Network
from mitbadak.models.sequential import EVAL_BATCH_SIZE, ParamDict, Sequential
from mitbadak.models.simple_convnet import SimpleConvNet
from mitbadak.models.two_layer_net import TwoLayerNet

__all__ = [
    "CLI_MODELS",
    "EVAL_BATCH_SIZE",
    "MODELS",
    "BuildOptions",
    "DeepConvNet",
    "MultiLayerNet",
    "Network",
    "ParamDict",
    "Sequential",
    "SimpleConvNet",
    "TwoLayerNet",
]
