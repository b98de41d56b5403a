"""The report of ``mitbadak check`` in English. Keys are shared with ``check_ko``."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # --- the frame of the report ---
    "status.pass": "ok",
    "status.fail": "FAIL",
    "status.note": "note",
    "status.skip": "skip",
    "header": "mitbadak check {target}",
    "kind.layer": "a layer: forward(x) -> out, backward(dout) -> dx",
    "kind.loss": "a loss layer: forward(x, t) -> loss, backward(dout=1) -> dx",
    "kind.node": "a two-input node: forward(x, y) -> out, backward(dout) -> (dx, dy)",
    "inputs.layer": "x: {x} random, |x| >= 0.1; dout: random normal of out's shape",
    "inputs.loss": "x: {x} random scores; t: {x} one-hot labels",
    "inputs.loss_index": "x: {x} random scores; t: labels as class indices (forward refused one-hot rows)",
    "inputs.node": "x and y: {x} random, |x| >= 0.1; dout: random normal",
    "params": "parameters: {names}",
    "params.none": "parameters: none",
    "verdict.pass": "verdict: every check passed ({count} checks; exit code 0)",
    "verdict.fail": "verdict: {failed} of {count} checks failed (exit code 1)",
    # --- the checks ---
    "check.construct": "the constructor fails",
    "check.forward.pass": "forward runs: out has shape {shape}",
    "check.forward.fail": "forward fails",
    "check.reference.pass": "forward computes what the book's {name} computes",
    "check.reference.fail": "forward does not compute what the book's {name} computes",
    "check.input_unchanged.pass": "forward leaves its input {name} unchanged",
    "check.input_unchanged.fail": "forward changes its input {name} in place",
    "check.backward.pass": "backward runs: dx has shape {shape}",
    "check.backward.fail": "backward fails",
    "check.dout_unchanged.pass": "backward leaves dout unchanged",
    "check.dout_unchanged.fail": "backward writes into dout",
    "check.not_aliased.pass": "backward returns a new array, not dout itself",
    "check.not_aliased.fail": "backward returns d{name} that is dout itself, not a new array",
    "check.not_aliased.note": "d{name} is a view of dout (it shares its memory)",
    "check.grad_set": "backward does not set {name}",
    "check.shape.pass": "{name} has the shape {shape}",
    "check.shape.fail": "{name} has shape {got}, but it must be {shape}",
    "check.gradient.pass": "{name} agrees with central differences (relative error {error:.1e})",
    "check.gradient.fail": "{name} disagrees with central differences",
    "check.forward_twice.pass": "forward twice, then backward: uses the latest input",
    "check.forward_twice.fail": "forward twice, then backward: backward works on the first call ({names})",
    "check.forward_twice.skip": "forward twice, then backward",
    "check.two_instances.pass": "two objects of the class keep their own state",
    "check.two_instances.fail": "two objects share state: one's forward changes the other's backward ({names})",
    "check.two_instances.skip": "two objects of the class keep their own state",
    "check.backward_twice.pass": "backward twice gives the same gradients",
    "check.backward_twice.fail": "calling backward again changes {names}",
    "check.backward_twice.skip": "backward twice gives the same gradients",
    "check.state": "calling forward or backward again fails",
    "check.loss_dout": "backward ignores dout",
    # --- facts ---
    "info.raised": "{error}: {message} (line {line}: {source})",
    "info.raised_here": "{error}: {message}",
    "info.first_difference": "First difference at {index}: yours {got:.6g}, the book's {expected:.6g}.",
    "info.shape_differs": "out has shape {got}; the book's layer gives {expected}.",
    "info.dout_changed": (
        "It changed {count} of the {total} entries of the dout it was given; the first, at "
        "{index}, went from {before:.4g} to {after:.4g}."
    ),
    "info.view_of_dout": (
        "Fine as long as no layer writes into the dout it receives (the book's Relu does); "
        "dout.reshape(...).copy() makes it safe everywhere."
    ),
    "info.band.exact": "Below 1e-7: equal up to float64's rounding. This gradient is right.",
    "info.band.close": (
        "{error:.1e} lies between 1e-7 and 1e-5: close agreement. Differences this small come "
        "from the step h of the central differences or an input near a kink (ReLU at 0, a tie "
        "in max)."
    ),
    "info.band.suspicious": (
        "{error:.1e} lies between 1e-5 and 1e-2: close, but not equal. Usually a small term is "
        "missing or wrong (an epsilon, one of two paths of a value used twice)."
    ),
    "info.band.wrong": (
        "{error:.1e} is above 1e-2: backward does not compute the derivative of forward."
    ),
    "info.first_mismatch": (
        "First wrong entry at {index}: backprop {backprop:.6g}, numerical {numerical:.6g}."
    ),
    "info.random_forward": (
        "Not checked: forward gives different outputs for the same input (it draws random "
        "numbers of its own), so two calls cannot be compared."
    ),
    "info.loss_ignores_dout": (
        "backward(2.0) returns the same as backward(1.0). Fine for the last layer, where dout "
        "is always 1; elsewhere the chain rule multiplies by dout."
    ),
    # --- likely causes ---
    "hint.forward_returns_none": "forward returned None: is `return out` missing?",
    "hint.no_return": "backward returned None: is `return dx` missing?",
    "hint.node_returns_two": "A two-input node's backward must return two gradients: dx, dy.",
    "hint.mutates_input": (
        "The caller's array is changed (e.g. x[mask] = 0 on x itself). Work on a copy: "
        "out = x.copy(), then change out."
    ),
    "hint.mutates_dout": (
        "dout belongs to the layer after this one and may be used again (a value used twice "
        "sends the same dout to two nodes). Compute a new array, e.g. dx = dout * mask, or "
        "start from dout.copy()."
    ),
    "hint.aliases_dout": (
        "Returning dout itself (dx = dout; return dx) ties the two arrays together: whoever "
        "changes one changes the other. Return a new array, e.g. dx = dout * 1 or dout.copy()."
    ),
    "hint.aliases_each_other": (
        "dx and dy are the same array: a change to one changes the other. Return two arrays, "
        "e.g. dout * 1 for each."
    ),
    "hint.grad_not_set": "backward must store {name} for the optimizer to update with.",
    "hint.bias_summed_all": (
        "{name} is a single number: dout was summed over every axis. Sum over the batch only: "
        "np.sum(dout, axis=0)."
    ),
    "hint.bias_wrong_axis": (
        "{name} has one entry per sample (N = {n}): dout was summed over the wrong axis. The "
        "bias was added to every row, so sum over the rows: np.sum(dout, axis=0)."
    ),
    "hint.bias_keepdims": "{name} kept a batch axis of 1; use np.sum(dout, axis=0) without keepdims.",
    "hint.bias_not_summed": (
        "{name} has the batch axis still in it: sum dout over the rows, np.sum(dout, axis=0)."
    ),
    "hint.transposed": (
        "{name} is transposed. For out = np.dot(x, W) + b the rules are dW = np.dot(x.T, dout), with W's shape, and "
        "dx = np.dot(dout, W.T), with x's shape: check where .T goes."
    ),
    "hint.dx_not_reshaped": (
        "dx is still flat; forward flattened x, so backward must reshape dx to x's shape."
    ),
    "hint.shape_mismatch": (
        "A gradient always has the shape of what it is the gradient of: {name} must be {expected}."
    ),
    "hint.matmul_shapes": (
        "A matrix product got operands whose shapes do not line up: a transpose (.T) is "
        "probably missing or in the wrong place (dx = np.dot(dout, W.T), dW = np.dot(x.T, dout))."
    ),
    "hint.broadcast": "Two arrays of incompatible shapes meet: check which of them is transposed.",
    "hint.reshape": "An array is reshaped to a shape with a different number of entries.",
    "hint.none_state": (
        "Something forward should have stored is None: does forward save what backward uses "
        "(self.x, self.mask, self.out)?"
    ),
    "hint.signature": (
        "The method was called with the book's arguments: forward(x) (forward(x, t) for a loss, "
        "forward(x, y) for a node) and backward(dout)."
    ),
    "hint.zero_expected": "The gradient should be zero everywhere, but backward gives non-zeros.",
    "hint.zero_gradient": "backward gives zeros where the gradient is not zero.",
    "hint.missing_batch_division": (
        "Backprop is exactly N = {n} times too large: the division by the batch size is "
        "missing. The loss is the batch's mean, so its gradient is (y - t) / N."
    ),
    "hint.extra_batch_division": (
        "Backprop is exactly N = {n} times too small: something is divided by the batch size "
        "that should not be (db is the sum of dout over the batch, not its mean)."
    ),
    "hint.sign_flipped": "Backprop has the wrong sign everywhere: (y - t), not (t - y).",
    "hint.constant_factor": "Backprop is {c:.4g} times the true gradient everywhere.",
    "hint.sigmoid_uses_x": (
        "backward uses x(1 - x), with the input x; the sigmoid's derivative is y(1 - y), with "
        "the output y = sigmoid(x) that forward stores."
    ),
    "hint.inverted_mask": (
        "The mask is the wrong way round: the gradient passes where it should be blocked and "
        "is blocked where it should pass. ReLU passes dout where x > 0."
    ),
    "hint.mask_missing": (
        "The gradient passes where it should be blocked: what forward stored to choose the "
        "entries is not applied (ReLU blocks where x <= 0, dropout the dropped units, max "
        "pooling everything but each window's maximum)."
    ),
    "hint.blocks_too_much": (
        "The gradient is blocked at {count} entries where it should pass: is the mask's "
        "condition too wide (<= instead of <)?"
    ),
    "hint.local_derivative_is": "backward multiplies dout by {got}, which is not forward's derivative.",
    "hint.wrong_local_derivative": (
        "backward multiplies dout by {got}; forward's derivative is {true}."
    ),
    "hint.not_swapped": (
        "Multiplication must swap its inputs: dx = dout * y and dy = dout * x. d{name} uses "
        "its own input instead of the other one."
    ),
    "hint.scores_not_probabilities": (
        "backward uses the scores x where the softmax output y belongs: dx = (y - t) / N."
    ),
    "hint.ignores_dout": (
        "backward returns the local derivative alone: the chain rule multiplies it by the "
        "incoming dout."
    ),
    "hint.generic_mismatch": (
        "Write the derivative of forward by hand and compare it with backward term by term; "
        "the first wrong entry above is a place to start."
    ),
    "hint.not_finite": "The gradient holds NaN or infinity.",
    "hint.batchnorm_paths": (
        "The batch's mean and variance depend on x too, which adds two terms: with "
        "dxn = dout * gamma, dx = (dxn - mean(dxn) - xn * mean(dxn * xn)) / std (means over "
        "the batch axis)."
    ),
    "hint.pooling_max": (
        "Max pooling sends each output's gradient to the one input that was its window's "
        "maximum (remember where in forward), and 0 to the others."
    ),
    "hint.conv_rules": (
        "A convolution is Affine on the image patches (im2col): dcol = np.dot(dout, W.T), folded "
        "back into the image (col2im); dW = np.dot(col.T, dout); db sums dout over N, OH, OW."
    ),
    "hint.stale_state": (
        "backward used something from the first forward call: store what backward needs on "
        "every call (a test like `if self.mask is None` sets it only once)."
    ),
    "hint.shared_state": (
        "The state lives on the class or in a global, shared by every object: store it on "
        "self in forward (self.mask = ..., not Relu.mask = ...)."
    ),
    "hint.accumulates": (
        "The second backward doubled the gradient: it adds into the old one (+=). Assign it: "
        "self.dW = ..."
    ),
    "hint.backward_changes_state": (
        "backward changes what forward stored, so a second call computes something else."
    ),
    # --- errors before any check (one line each) ---
    "error.bad_target": "expected FILE.py:ClassName, received {target!r}",
    "error.no_file": "{path}: no such file",
    "error.not_python": "{path}: not a Python file (.py)",
    "error.syntax_error": "{path}, line {line}: SyntaxError: {message}",
    "error.exit_at_import": (
        "{path} called sys.exit() while being imported; put script code under "
        "if __name__ == '__main__':"
    ),
    "error.import_failed": "{path} could not be imported: {error}: {message} (line {line})",
    "error.no_class": "{path} has no class named {name!r} (classes there: {classes})",
    "error.not_a_class": "{name!r} in {path} is a {kind}, not a class",
    "error.no_method": "{name} has no {method} method",
    "error.cannot_guess_arg": (
        "cannot build {name}: the checker does not know what to pass as its argument {arg!r} "
        "(it knows W, b, gamma, beta, pool_h, pool_w, stride, pad, input_size, output_size, "
        "dropout_ratio)"
    ),
}
