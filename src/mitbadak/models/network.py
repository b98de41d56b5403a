"""The base of the book's networks: one validated config each, and one registry of them.

A network's constructor keeps the book's signature; its arguments go straight into a
frozen dataclass, the network's ``Config``, which checks them once. ``net.config()``
(what save/load writes as JSON), ``net.input_size`` style attributes and
``type(net).from_config(...)`` all read that one object, so no argument is written
down twice. :data:`MODELS` maps class names to classes (for loading files) and
:data:`CLI_MODELS` the command line's ``--model`` names to the same classes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self, cast

import numpy as np
from numpy.typing import DTypeLike

from mitbadak._memory import check_fits
from mitbadak.layers import Layer, LossLayer
from mitbadak.models.sequential import Sequential

__all__ = ["CLI_MODELS", "MODELS", "BuildOptions", "Network", "NetworkConfig", "register"]


@dataclass(frozen=True)
class NetworkConfig:
    """Base of every network's settings: a frozen dataclass that validates itself.

    Subclasses check and normalise their fields in ``__post_init__`` with
    :meth:`_set`, and implement :meth:`param_shapes`; :meth:`to_dict` gives the
    JSON-ready form that save/load stores.
    """

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of every parameter the network will have, by its public name.

        Known from the settings alone, so that a network too large for memory (or for
        the file it is loaded from) is refused before anything is allocated.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement param_shapes")

    def check_fits(self, dtype: np.dtype, network: str) -> None:
        """``MemoryNeededError`` (a ``ValueError``) if the weights cannot fit in memory.

        Each network's constructor calls this before drawing its weights.
        """
        count = sum(math.prod(shape) for shape in self.param_shapes().values())
        check_fits(count * dtype.itemsize, f"{network} with {count:,} {dtype.name} parameters")

    def _set(self, name: str, value: object) -> None:
        # The dataclass is frozen for users; validation may still normalise a field once.
        object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """Fields by name, tuples as lists, ready for ``json.dumps``."""

        def plain(value: Any) -> Any:
            if isinstance(value, tuple | list):
                return [plain(v) for v in value]
            if isinstance(value, Mapping):
                return {k: plain(v) for k, v in value.items()}
            return value

        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class BuildOptions:
    """Architecture choices offered by the command line, with one meaning for every network.

    ``hidden`` None means the network's :attr:`Network.default_hidden`. A network
    that cannot honour an option raises ``ValueError`` from :meth:`Network.build`.
    """

    hidden: tuple[int, ...] | None = None
    weight_init_std: float = 0.01
    weight_init: str | None = None
    use_batchnorm: bool = False
    dropout_ratio: float = 0.0
    weight_decay_lambda: float = 0.0


class Network(Sequential):
    """A :class:`Sequential` built from a validated :class:`NetworkConfig`.

    Subclasses set ``Config`` (their settings dataclass), ``cli_name`` (the
    ``--model`` name), ``chapter``, ``default_hidden`` (the book's widths) and
    ``accepts``, and implement ``_build``; :func:`register` makes them known.
    """

    Config: ClassVar[type[NetworkConfig]]
    cli_name: ClassVar[str]
    #: The book's chapter that introduces the network; orders the command line's list.
    chapter: ClassVar[int]
    default_hidden: ClassVar[tuple[int, ...]]

    def __init__(
        self,
        cfg: NetworkConfig,
        layers: Mapping[str, Layer],
        loss_layer: LossLayer,
        *,
        param_names: Mapping[str, tuple[str, str]],
    ) -> None:
        self.cfg = cfg
        super().__init__(layers, loss_layer, param_names=param_names)

    def __getattr__(self, name: str) -> Any:
        # Settings read as attributes (net.hidden_size), straight from the one config.
        cfg = self.__dict__.get("cfg")
        if cfg is not None and name in {f.name for f in dataclasses.fields(cfg)}:
            return getattr(cfg, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable (dtype and rng excluded)."""
        return self.cfg.to_dict()

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> Self:
        """A new network with the settings of ``config`` (e.g. ``net.config()``)."""
        # Every subclass's constructor takes its Config's fields plus rng and dtype
        # (tests/test_models.py checks that); this base class's own does not.
        constructor: Any = cls
        return cast(Self, constructor(**config, rng=rng, dtype=dtype))

    #: The :class:`BuildOptions` fields besides ``hidden`` that the network uses. A
    #: network that accepts ``weight_decay_lambda`` adds L2 decay to its own loss and
    #: gradient, so a trainer must not give the optimizer a ``weight_decay`` as well.
    accepts: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def build(
        cls,
        input_shape: Sequence[int],
        output_size: int,
        options: BuildOptions,
        *,
        rng: np.random.Generator,
    ) -> Self:
        """A network for samples of ``input_shape`` (``(784,)`` or ``(1, 28, 28)``) and
        ``output_size`` classes, from command-line options.

        ``ValueError`` names an option this network has no use for, and the networks
        that do use it.
        """
        defaults = BuildOptions()
        for f in dataclasses.fields(BuildOptions):
            changed = getattr(options, f.name) != getattr(defaults, f.name)
            if f.name != "hidden" and changed and f.name not in cls.accepts:
                takers = [c.cli_name for c in CLI_MODELS.values() if f.name in c.accepts]
                raise ValueError(
                    f"{f.name} does not apply to {cls.cli_name}; it applies to "
                    f"{', '.join(takers) or 'no network'}"
                )
        return cls._build(tuple(input_shape), output_size, options, rng)

    @classmethod
    def _build(
        cls,
        input_shape: tuple[int, ...],
        output_size: int,
        options: BuildOptions,
        rng: np.random.Generator,
    ) -> Self:
        raise NotImplementedError

    @classmethod
    def _hidden(cls, options: BuildOptions, *, single: bool) -> tuple[int, ...]:
        """The widths to use; ``single`` networks take exactly one."""
        hidden = cls.default_hidden if options.hidden is None else tuple(options.hidden)
        if single and len(hidden) != 1:
            raise ValueError(
                f"{cls.cli_name} takes one hidden width, received {','.join(map(str, hidden))}"
            )
        return hidden


#: Class name -> network class, for loading saved models.
MODELS: dict[str, type[Network]] = {}
#: ``--model`` name -> network class, in the order the command line lists them.
CLI_MODELS: dict[str, type[Network]] = {}


def register(cls: type[Network]) -> type[Network]:
    """Class decorator: make a network loadable and trainable from the command line."""
    MODELS[cls.__name__] = cls
    CLI_MODELS[cls.cli_name] = cls
    ordered = sorted(CLI_MODELS.items(), key=lambda item: item[1].chapter)
    CLI_MODELS.clear()
    CLI_MODELS.update(ordered)
    return cls
