"""Networks of one shape stacked in one flat buffer, trained with batched products.

``n_nets`` networks with the same layer widths keep all their weights and
biases in one ``(n_nets, width)`` float32 buffer, viewed as ``(n_nets, out,
in)`` weights and ``(n_nets, 1, out)`` biases per layer. The forward pass runs
one ``torch.baddbmm`` per layer for all of them, the backward pass writes each
layer's gradients into a second buffer of the same layout with batched
products, and :class:`_Optimizer` updates the whole buffer with the in-place
operations of ``torch.optim``. On CPU every product rounds as the one a lone
``torch.nn.Linear`` computes (see :func:`_matmul`), so that each network's
numbers equal those of a lone network bit for bit. Used by
:func:`~sk_ricci.nn.fit_many`.
"""

import itertools

import torch

# Each network's block of the flat parameter, gradient and optimizer buffers is
# padded to a multiple of this many floats (256 bytes), so every block starts
# at the same offset modulo the SIMD width and the vectorised element-wise
# kernels treat every network's numbers alike, whatever its position in the
# batch. The padding holds zeros that stay zero (zero gradient, zero update).
_BLOCK = 64

# Every network's matrix in a product (operands and output) starts on a
# multiple of this many floats (64 bytes, the alignment of torch's CPU
# allocator and so of a lone network's fresh tensors): MKL's sgemm rounds some
# shapes differently when its output, or an operand of a matrix-vector
# product, is not 16-byte aligned, so a network whose matrix sat at an odd
# offset of a batch would drift from its lone fit.
_ALIGN = 16

# torch's CPU bmm and baddbmm compute a product of fewer than this many
# multiply-adds per matrix (rows x inner x cols) with a plain loop of their
# own, which sums in another order than the BLAS sgemm that torch.mm, addmm and
# so torch.nn.Linear call (aten/src/ATen/native/LinearAlgebra.cpp,
# bmm_out_or_baddbmm_). Such products run one network at a time.
_SMALL_PRODUCT = 400

# The smallest normal float32. torch's CPU ``sqrt`` of float32 (not correctly
# rounded: it differs from IEEE ``sqrt`` in the last bit of about one value in
# six) takes a slow path for zeros and subnormals, 10-40x slower per element
# than for normal values; the optimiser state of ReLU networks holds many of
# them (dead units keep a zero or decaying second moment). See
# :meth:`_Optimizer._root`.
_FLT_MIN = torch.finfo(torch.float32).tiny


def _round_up(n, step):
    return -(-n // step) * step


class _Layout:
    """Offsets of every layer's weight and bias in a network's flat block,
    each a multiple of ``_ALIGN`` floats."""

    def __init__(self, sizes):
        self.shapes = list(itertools.pairwise(sizes))
        self.weight_offsets, self.bias_offsets = [], []
        offset = 0
        for n_in, n_out in self.shapes:
            self.weight_offsets.append(offset)
            offset = _round_up(offset + n_in * n_out, _ALIGN)
            self.bias_offsets.append(offset)
            offset = _round_up(offset + n_out, _ALIGN)
        self.width = _round_up(offset, _BLOCK)

    def views(self, flat):
        """``(n_nets, out, in)`` weight and ``(n_nets, 1, out)`` bias views.

        Weights are stored as ``torch.nn.Linear`` stores them (``out x in``,
        row-major), so every product below has the shapes and transposition
        of the one a lone network computes.
        """
        weights, biases = [], []
        for (n_in, n_out), wo, bo in zip(
            self.shapes, self.weight_offsets, self.bias_offsets
        ):
            weights.append(flat[:, wo : wo + n_in * n_out].view(-1, n_out, n_in))
            biases.append(flat[:, bo : bo + n_out].view(-1, 1, n_out))
        return weights, biases


def _aligned_empty(n_nets, rows, cols, like):
    """An uninitialised ``(n_nets, rows, cols)`` tensor whose matrices each
    start on a multiple of ``_ALIGN`` floats (a padded batch stride)."""
    size = rows * cols
    buffer = like.new_empty(n_nets, _round_up(size, _ALIGN))
    return buffer[:, :size].view(n_nets, rows, cols)


def _aligned(t):
    """``t`` (``(n_nets, rows, cols)``, each matrix row-major) if each of its
    matrices starts on a multiple of ``_ALIGN`` floats, else such a copy."""
    n_nets, rows, cols = t.shape
    if (
        t.stride(2) == 1
        and t.stride(1) == cols
        and t.stride(0) % _ALIGN == 0
        and t.data_ptr() % (_ALIGN * t.element_size()) == 0
    ):
        return t
    return _aligned_empty(n_nets, rows, cols, t).copy_(t)


def _matmul(a, b, bias=None, out=None):
    """Each network's ``a[i] @ b[i]`` (``+ bias[i]``) into ``out``, or a new
    ``(n_nets, rows, cols)`` tensor; returns it.

    On CPU each matrix is rounded as ``torch.mm`` (``torch.addmm`` with a
    bias) rounds a lone network's product: the outputs are aligned as fresh
    tensors are, and the products that torch's batched kernel would compute
    with another summation order (fewer than ``_SMALL_PRODUCT`` multiply-adds,
    or a single output column, a matrix-vector product) run one network at a
    time. Other devices always use the batched kernel.
    """
    n_nets, rows, inner = a.shape
    cols = b.shape[2]
    if out is None:
        out = _aligned_empty(n_nets, rows, cols, a)
    if a.device.type == "cpu" and (cols == 1 or rows * inner * cols < _SMALL_PRODUCT):
        if bias is None:
            for o, x, w in zip(out.unbind(0), a.unbind(0), b.unbind(0)):
                torch.mm(x, w, out=o)
        else:
            for o, c, x, w in zip(
                out.unbind(0), bias.unbind(0), a.unbind(0), b.unbind(0)
            ):
                torch.addmm(c[0], x, w, out=o)
    elif bias is None:
        torch.bmm(a, b, out=out)
    else:
        torch.baddbmm(bias, a, b, out=out)
    return out


def _modules_to_flat(modules, layout, device):
    flat = torch.zeros(len(modules), layout.width, dtype=torch.float32)
    weights, biases = layout.views(flat)
    for i, module in enumerate(modules):
        linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
        for layer, weight, bias in zip(linears, weights, biases):
            weight[i].copy_(layer.weight.detach())
            bias[i, 0].copy_(layer.bias.detach())
    return flat.to(device)


def _flat_to_modules(flat, modules, layout):
    flat = flat.cpu()
    weights, biases = layout.views(flat)
    with torch.no_grad():
        for i, module in enumerate(modules):
            linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
            for layer, weight, bias in zip(linears, weights, biases):
                layer.weight.copy_(weight[i])
                layer.bias.copy_(bias[i, 0])


def _forward(weights, biases, X, keep):
    """Logits ``(n_nets, n, n_outputs)``; ``keep`` collects each layer's input."""
    hidden = _aligned(X)
    last = len(weights) - 1
    for i, (weight, bias) in enumerate(zip(weights, biases)):
        if keep is not None:
            keep.append(hidden)
        hidden = _matmul(hidden, weight.transpose(1, 2), bias)
        if i < last:
            hidden = hidden.relu_()
    return hidden


def _rows(logits):
    """The single logit of every network as a ``(n_nets, n)`` strided view.

    A lone network's logits are one contiguous ``(n,)`` tensor, and torch's
    element-wise kernels treat its last few elements (those that do not fill
    a SIMD vector) with scalar code, whose ``exp`` rounds differently. A row
    stride of ``n + 1`` keeps torch from fusing the rows into one long loop,
    so each network's row is split into vector and scalar parts exactly as a
    lone network's logits are.
    """
    n_nets, n = logits.shape[:2]
    rows = logits.new_empty(n_nets, n + 1)[:, :n]
    return rows.copy_(logits[..., 0])


def mean_losses(logits, y, binary):
    """Each network's mean loss over its rows, ``(n_nets,)``.

    Computed one network at a time by the criterion a lone fit calls
    (``BCEWithLogitsLoss`` on the ``(n,)`` logits, ``CrossEntropyLoss``):
    a batched mean would sum the per-sample losses in another order than
    these criteria do (cross-entropy sums with a cascade of its own).
    """
    if binary:
        return torch.stack(
            [
                torch.nn.functional.binary_cross_entropy_with_logits(z, t)
                for z, t in zip(_rows(logits).unbind(0), y.unbind(0))
            ]
        )
    return torch.stack(
        [
            torch.nn.functional.cross_entropy(z, t)
            for z, t in zip(logits.unbind(0), y.unbind(0))
        ]
    )


def _predict(logits, binary):
    """Each network's predicted class index, ``(n_nets, n)``, as skorch's
    ``predict`` finds it (sigmoid above 0.5, or the largest softmax)."""
    if binary:
        return (_rows(logits).sigmoid() > 0.5).to(torch.int64)
    return logits.softmax(dim=2).argmax(dim=2)


def output_grad(logits, y, binary):
    """Gradient of the mean loss of each network w.r.t. its logits.

    The same expressions as torch's backward formulas: ``(sigmoid(z) - y) / n``
    for binary cross-entropy with logits, and log-softmax's backward of the
    negative log-likelihood's ``-1 / n`` at the target for cross-entropy.
    """
    n = logits.shape[1]
    if binary:
        return (_rows(logits).sigmoid() - y).div_(n).unsqueeze(2)
    log_proba = torch.log_softmax(logits, dim=2)
    grad = torch.zeros_like(log_proba).scatter_(2, y.unsqueeze(2), -(1.0 / n))
    return torch._log_softmax_backward_data(grad, log_proba, 2, log_proba.dtype)


def _backward(weights, grad_weights, grad_biases, inputs, delta):
    """Write every layer's weight and bias gradient into the flat views."""
    delta = _aligned(delta)
    for i in range(len(weights) - 1, -1, -1):
        _matmul(delta.transpose(1, 2), inputs[i], out=grad_weights[i])
        torch.sum(delta, dim=1, keepdim=True, out=grad_biases[i])
        if i:
            if inputs[i].shape[1:] == (1, 1):
                # autograd takes a 1 x 1 input of addmm for column-major and
                # computes its gradient as (W^T delta^T)^T, a 1 x 1 product
                # whose operands MKL reads in another order than delta W
                delta = _matmul(weights[i].transpose(1, 2), delta.transpose(1, 2))
            else:
                delta = _matmul(delta, weights[i])
            # ReLU's backward, as autograd computes it from the layer's
            # output, in place (the buffer stays aligned)
            torch.ops.aten.threshold_backward.grad_input(
                delta, inputs[i], 0, grad_input=delta
            )


class _Optimizer:
    """RMSprop, Adam or SGD over the flat ``(n_nets, n_params)`` buffer.

    The same in-place operations, with the same scalars, as torch.optim's
    single-tensor code paths (the ones used on CPU), applied to every
    network's parameters at once. The learning rate is shared by the group.
    """

    def __init__(self, name, kwargs, lr, flat):
        self.name = name
        self.lr = lr
        self.step = 0
        self.state = {}
        # scratch buffer: a fresh multi-megabyte tensor per step costs more
        # (page faults) than the arithmetic
        self.denom = torch.empty_like(flat)
        self._raise_tiny_cache = {}
        if name == "rmsprop":
            self.alpha = float(kwargs.get("alpha", 0.99))
            self.eps = float(kwargs.get("eps", 1e-8))
            self.state["square_avg"] = torch.zeros_like(flat)
        elif name == "adam":
            self.beta1, self.beta2 = kwargs.get("betas", (0.9, 0.999))
            self.eps = float(kwargs.get("eps", 1e-8))
            self.state["exp_avg"] = torch.zeros_like(flat)
            self.state["exp_avg_sq"] = torch.zeros_like(flat)

    def _root(self, x, divisor=None):
        """``sqrt(x)`` (divided by ``divisor``) in the scratch buffer, equal
        once ``eps`` is added to what torch.optim computes.

        On CPU, when it cannot change the sum with ``eps``, every value below
        the smallest normal float32 (zeros and subnormals, where torch's
        ``sqrt`` is slow) is raised to it first: torch's ``sqrt`` is monotone
        there, so such a value's root (divided by ``divisor``) is at most
        ``sqrt(_FLT_MIN) / divisor``, and when that plus ``eps`` rounds to
        ``eps`` in float32, so does the smaller root of the raw value. Other
        values are untouched and their roots are torch's own. Otherwise (a
        tiny ``eps``, another device) it is torch's ``sqrt`` of ``x`` as is.
        """
        out = self.denom
        if self._raise_tiny(divisor):
            torch.clamp(x, min=_FLT_MIN, out=out)
            torch.sqrt(out, out=out)
        else:
            torch.sqrt(x, out=out)
        if divisor is not None:
            out.div_(divisor)
        return out

    def _raise_tiny(self, divisor):
        """Whether ``eps`` absorbs the root of any value below ``_FLT_MIN``."""
        if self.denom.device.type != "cpu":
            return False
        if divisor in self._raise_tiny_cache:
            return self._raise_tiny_cache[divisor]
        bound = torch.sqrt(torch.tensor(_FLT_MIN, dtype=torch.float32))
        if divisor is not None:
            bound = bound.div(divisor)
        eps = torch.tensor(self.eps, dtype=torch.float32)
        raise_tiny = bool(bound.add(self.eps) == eps)
        if divisor is None:  # RMSprop's answer never changes: once
            self._raise_tiny_cache[divisor] = raise_tiny
        return raise_tiny

    def update(self, flat, grad):
        self.step += 1
        if self.name == "rmsprop":
            square_avg = self.state["square_avg"]
            square_avg.mul_(self.alpha).addcmul_(grad, grad, value=1 - self.alpha)
            avg = self._root(square_avg).add_(self.eps)
            flat.addcdiv_(grad, avg, value=-self.lr)
        elif self.name == "adam":
            exp_avg, exp_avg_sq = self.state["exp_avg"], self.state["exp_avg_sq"]
            exp_avg.lerp_(grad, 1 - self.beta1)
            exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            bias_correction1 = 1 - self.beta1**self.step
            bias_correction2 = 1 - self.beta2**self.step
            step_size = self.lr / bias_correction1
            denom = self._root(exp_avg_sq, bias_correction2**0.5).add_(self.eps)
            flat.addcdiv_(exp_avg, denom, value=-step_size)
        else:
            flat.add_(grad, alpha=-self.lr)

    def state_dict(self, i, layout, param_groups):
        """The ``torch.optim`` state dict of network ``i``."""
        state = {}
        if self.name == "sgd":
            # torch.optim.SGD without momentum keeps no state at all
            return {"state": state, "param_groups": param_groups}
        buffers = {key: value.cpu() for key, value in self.state.items()}
        views = {key: layout.views(value) for key, value in buffers.items()}
        index = 0
        for layer in range(len(layout.shapes)):
            for kind in (0, 1):  # weight, then bias, as module.parameters()
                entry = {"step": torch.tensor(float(self.step))}
                for key, (weights, biases) in views.items():
                    tensor = weights[layer][i] if kind == 0 else biases[layer][i, 0]
                    entry[key] = tensor.contiguous().clone()
                state[index] = entry
                index += 1
        return {"state": state, "param_groups": param_groups}


class StackedNets:
    """Networks of one shape as views of one flat ``(n_nets, width)`` buffer,
    with a gradient buffer of the same layout.

    ``sizes`` are the layer widths, input and output included.
    """

    def __init__(self, modules, sizes, device):
        self.layout = _Layout(sizes)
        self.flat = _modules_to_flat(modules, self.layout, device)
        self.grad = torch.zeros_like(self.flat)
        self.weights, self.biases = self.layout.views(self.flat)
        self.grad_weights, self.grad_biases = self.layout.views(self.grad)

    def forward(self, X, keep=None):
        """Logits ``(n_nets, n, n_outputs)``; ``keep`` collects each layer's input."""
        return _forward(self.weights, self.biases, X, keep)

    def backward(self, inputs, delta):
        """Write every layer's gradients, from the logits' gradient ``delta``."""
        _backward(self.weights, self.grad_weights, self.grad_biases, inputs, delta)

    def to_modules(self, modules):
        """Copy each network's weights back into its ``torch.nn`` module."""
        _flat_to_modules(self.flat, modules, self.layout)
