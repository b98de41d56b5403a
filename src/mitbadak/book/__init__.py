"""The book's modules on mitbadak: its scripts run with only their import lines changed.

Each module mirrors one of *Deep Learning from Scratch*'s, with the book's names,
signatures and behaviour, as thin adapters over mitbadak's own layers, networks,
optimizers and training loop (no second implementation of any of them):

=================================  ====================================
the book's module                  mitbadak's
=================================  ====================================
``dataset.mnist``                  ``mitbadak.book.mnist``
``common.functions``               ``mitbadak.book.functions``
``common.gradient``                ``mitbadak.book.gradient``
``common.layers``                  ``mitbadak.book.layers``
``common.optimizer``               ``mitbadak.book.optimizer``
``common.multi_layer_net``         ``mitbadak.book.multi_layer_net``
``common.multi_layer_net_extend``  ``mitbadak.book.multi_layer_net_extend``
``common.trainer``                 ``mitbadak.book.trainer``
``common.util``                    ``mitbadak.book.util``
``layer_naive`` (chapter 5)        ``mitbadak.book.layer_naive``
``two_layer_net`` (4, 5)           ``mitbadak.book.two_layer_net``
``simple_convnet`` (7)             ``mitbadak.book.simple_convnet``
``deep_convnet`` (8)               ``mitbadak.book.deep_convnet``
=================================  ====================================

So ``from common.layers import *`` becomes ``from mitbadak.book.layers import *`` and
``from simple_convnet import SimpleConvNet`` becomes
``from mitbadak.book.simple_convnet import SimpleConvNet``.

Where the book's code is lenient (Python numbers and lists, integer arrays, labels
shaped ``(N, 1)``), these adapters convert at their boundary; mitbadak's own modules
refuse such input with a ``TypeError`` that says how to convert. Differences that
remain are listed in each module. Nothing here writes pickles: ``save_params`` writes
mitbadak's ``.npz`` format, and the book's pickles are read by an allow-list that
builds NumPy arrays and nothing else.
"""
