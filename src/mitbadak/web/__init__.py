"""Draw a digit and watch the network: the local page of ``mitbadak serve``.

- :class:`ModelCatalog` (:mod:`~mitbadak.web.catalog`): the run folders under ``runs/``
  and the models in them, with their test accuracy;
- :func:`analyse` (:mod:`~mitbadak.web.analysis`): prediction, hidden activations and the
  traced backward pass of one 28x28 input;
- :mod:`~mitbadak.web.api`: the JSON requests, checked, and images prepared as MNIST's;
- :func:`make_server` (:mod:`~mitbadak.web.server`): the HTTP server, standard library
  only, answering the page (``static/``) and the API on this machine.
"""

from mitbadak.web.analysis import analyse
from mitbadak.web.catalog import ModelCatalog
from mitbadak.web.server import PageServer, make_server

__all__ = ["ModelCatalog", "PageServer", "analyse", "make_server"]
