"""mitbadak.optimizers against torch.optim, step by step, in float64.

Every optimizer (with and without weight decay, with non-default and default
hyperparameters) takes the same gradients as its torch.optim counterpart for
``STEPS`` steps; the parameters must agree to about 1e-10 after each one. Adam's
per-parameter step count is checked against torch's too.

The module is skipped, with the reason, when PyTorch is not installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pytest

from mitbadak.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, Optimizer, RMSprop
from test_optimizers import STEPS, make_grads, make_params

if TYPE_CHECKING:
    import torch
else:
    torch = pytest.importorskip(
        "torch",
        reason="PyTorch is the test oracle: install the dev extra (pip install -e '.[dev]')",
    )

# Non-default hyperparameters, so that swapping two of them (beta1/beta2, lr/eps) shows.
# Each case: ours, and the torch.optim equivalent given the torch parameters and weight_decay.
TorchFactory = Callable[[list[torch.Tensor], float], torch.optim.Optimizer]
CASES: dict[str, tuple[Callable[[float], Optimizer], TorchFactory]] = {
    "sgd": (
        lambda wd: SGD(lr=0.1, weight_decay=wd),
        lambda ps, wd: torch.optim.SGD(ps, lr=0.1, weight_decay=wd),
    ),
    "momentum": (
        lambda wd: Momentum(lr=0.05, momentum=0.8, weight_decay=wd),
        lambda ps, wd: torch.optim.SGD(ps, lr=0.05, momentum=0.8, weight_decay=wd),
    ),
    "nesterov": (
        lambda wd: Nesterov(lr=0.05, momentum=0.8, weight_decay=wd),
        lambda ps, wd: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=wd),
    ),
    "adagrad": (
        lambda wd: AdaGrad(lr=0.2, eps=1e-3, weight_decay=wd),
        lambda ps, wd: torch.optim.Adagrad(ps, lr=0.2, eps=1e-3, weight_decay=wd),
    ),
    "adagrad-book-eps": (
        lambda wd: AdaGrad(lr=0.2, weight_decay=wd),
        lambda ps, wd: torch.optim.Adagrad(ps, lr=0.2, eps=1e-7, weight_decay=wd),
    ),
    "rmsprop": (
        lambda wd: RMSprop(lr=0.03, decay_rate=0.9, eps=1e-3, weight_decay=wd),
        lambda ps, wd: torch.optim.RMSprop(ps, lr=0.03, alpha=0.9, eps=1e-3, weight_decay=wd),
    ),
    "rmsprop-book-defaults": (
        lambda wd: RMSprop(weight_decay=wd),
        lambda ps, wd: torch.optim.RMSprop(ps, lr=0.01, alpha=0.99, eps=1e-7, weight_decay=wd),
    ),
    "adam": (
        lambda wd: Adam(lr=0.02, beta1=0.8, beta2=0.95, eps=1e-4, weight_decay=wd),
        lambda ps, wd: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.95), eps=1e-4, weight_decay=wd),
    ),
    "adam-defaults": (
        lambda wd: Adam(weight_decay=wd),
        lambda ps, wd: torch.optim.Adam(
            ps, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd
        ),
    ),
}


@pytest.mark.parametrize("weight_decay", [0.0, 0.05], ids=["no-wd", "wd"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch_optim(case: str, weight_decay: float) -> None:
    ours_factory, torch_factory = CASES[case]
    rng = np.random.default_rng(0)
    params = make_params(rng)
    tparams = {k: torch.tensor(p.copy(), requires_grad=True) for k, p in params.items()}
    ours = ours_factory(weight_decay)
    theirs = torch_factory(list(tparams.values()), weight_decay)

    for step in range(STEPS):
        grads = make_grads(rng, params)
        for k, t in tparams.items():
            t.grad = torch.from_numpy(grads[k].copy())
        ours.update(params, grads)
        theirs.step()
        for k, t in tparams.items():
            np.testing.assert_allclose(
                params[k],
                t.detach().numpy(),
                rtol=1e-10,
                atol=1e-12,
                err_msg=f"{case}, {k!r}, step {step + 1}",
            )


def test_adam_counts_steps_per_parameter_like_torch() -> None:
    # "late" gets no gradient on the first two steps; its bias correction must start at t=1.
    rng = np.random.default_rng(1)
    params = {"early": rng.standard_normal(3), "late": rng.standard_normal(2)}
    tparams = {k: torch.tensor(p.copy(), requires_grad=True) for k, p in params.items()}
    ours = Adam(lr=0.1)
    theirs = torch.optim.Adam(list(tparams.values()), lr=0.1)
    for step in range(5):
        keys = ["early"] if step < 2 else ["early", "late"]
        grads = {k: rng.standard_normal(params[k].shape) for k in keys}
        for k, t in tparams.items():
            t.grad = torch.from_numpy(grads[k].copy()) if k in grads else None
        ours.update({k: params[k] for k in keys}, grads)
        theirs.step()
        for k, t in tparams.items():
            np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert ours.t == {"early": 5, "late": 3}
