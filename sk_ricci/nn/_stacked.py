"""Networks of one shape stacked in one flat buffer, trained with batched products.

``n_nets`` networks with the same layer widths keep all their weights and
biases in one ``(n_nets, width)`` float32 buffer, viewed as ``(n_nets, out,
in)`` weights and ``(n_nets, 1, out)`` biases per layer. The forward pass runs
one ``torch.baddbmm`` per layer for all of them, the backward pass writes each
layer's gradients into a second buffer of the same layout with batched
products, and :class:`_Optimizer` updates the whole buffer with the in-place
operations of ``torch.optim``. Every product has the shapes and transposition
of the one a lone ``torch.nn.Linear`` computes, and the few whose batched
kernels would round differently run one network at a time, so that each
network's numbers equal those of a lone network bit for bit on CPU. Used by
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

class _Layout:
    """Offsets of every layer's weight and bias in a network's flat block."""

    def __init__(self, sizes):
        self.shapes = list(itertools.pairwise(sizes))
        self.weight_offsets, self.bias_offsets = [], []
        offset = 0
        for n_in, n_out in self.shapes:
            self.weight_offsets.append(offset)
            offset += n_in * n_out
            self.bias_offsets.append(offset)
            offset += n_out
        self.n_params = offset
        self.width = -(-offset // _BLOCK) * _BLOCK

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
    hidden = X
    last = len(weights) - 1
    for i, (weight, bias) in enumerate(zip(weights, biases)):
        if keep is not None:
            keep.append(hidden)
        if i == last and weight.shape[1] == 1:
            # A single output is a matrix-vector product, for which the
            # batched kernel rounds differently from the one torch.nn.Linear
            # calls; one addmm per network keeps the logits bit for bit.
            out = hidden.new_empty(hidden.shape[0], hidden.shape[1], 1)
            for o, b, h, w in zip(
                out.unbind(0),
                bias.unbind(0),
                hidden.unbind(0),
                weight.transpose(1, 2).unbind(0),
            ):
                torch.addmm(b, h, w, out=o)
            return out
        hidden = torch.baddbmm(bias, hidden, weight.transpose(1, 2))
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


def _losses(logits, y, binary):
    """Per-sample losses ``(n_nets, n)`` of the criterion ``fit`` uses."""
    if binary:
        return torch.nn.functional.binary_cross_entropy_with_logits(
            _rows(logits), y, reduction="none"
        )
    log_proba = torch.log_softmax(logits, dim=2)
    return -log_proba.gather(2, y.unsqueeze(2))[..., 0]


def _output_grad(logits, y, binary):
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
    for i in range(len(weights) - 1, -1, -1):
        if delta.shape[2] == 1:
            # a row vector times a matrix: per network, as for the logits
            for d, a, g in zip(
                delta.transpose(1, 2).unbind(0),
                inputs[i].unbind(0),
                grad_weights[i].unbind(0),
            ):
                torch.mm(d, a, out=g)
        else:
            torch.bmm(delta.transpose(1, 2), inputs[i], out=grad_weights[i])
        torch.sum(delta, dim=1, keepdim=True, out=grad_biases[i])
        if i:
            delta = torch.bmm(delta, weights[i])
            # ReLU's backward, as autograd computes it from the layer's output
            delta = torch.ops.aten.threshold_backward(delta, inputs[i], 0)


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
        if name == "rmsprop":
            self.alpha = float(kwargs.get("alpha", 0.99))
            self.eps = float(kwargs.get("eps", 1e-8))
            self.state["square_avg"] = torch.zeros_like(flat)
        elif name == "adam":
            self.beta1, self.beta2 = kwargs.get("betas", (0.9, 0.999))
            self.eps = float(kwargs.get("eps", 1e-8))
            self.state["exp_avg"] = torch.zeros_like(flat)
            self.state["exp_avg_sq"] = torch.zeros_like(flat)

    def update(self, flat, grad):
        self.step += 1
        if self.name == "rmsprop":
            square_avg = self.state["square_avg"]
            square_avg.mul_(self.alpha).addcmul_(grad, grad, value=1 - self.alpha)
            avg = torch.sqrt(square_avg, out=self.denom).add_(self.eps)
            flat.addcdiv_(grad, avg, value=-self.lr)
        elif self.name == "adam":
            exp_avg, exp_avg_sq = self.state["exp_avg"], self.state["exp_avg_sq"]
            exp_avg.lerp_(grad, 1 - self.beta1)
            exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            bias_correction1 = 1 - self.beta1**self.step
            bias_correction2 = 1 - self.beta2**self.step
            step_size = self.lr / bias_correction1
            denom = torch.sqrt(exp_avg_sq, out=self.denom)
            denom = denom.div_(bias_correction2**0.5).add_(self.eps)
            flat.addcdiv_(exp_avg, denom, value=-step_size)
        else:
            flat.add_(grad, alpha=-self.lr)

    def state_dict(self, i, layout, param_groups):
        """The ``torch.optim`` state dict of network ``i``."""
        state = {}
        buffers = {key: value.cpu() for key, value in self.state.items()}
        views = {key: layout.views(value) for key, value in buffers.items()}
        index = 0
        for layer in range(len(layout.shapes)):
            for kind in (0, 1):  # weight, then bias, as module.parameters()
                entry = {}
                if self.name != "sgd":
                    entry["step"] = torch.tensor(float(self.step))
                for key, (weights, biases) in views.items():
                    tensor = weights[layer][i] if kind == 0 else biases[layer][i, 0]
                    entry[key] = tensor.contiguous().clone()
                if self.name == "sgd":
                    entry["momentum_buffer"] = None
                state[index] = entry
                index += 1
        return {"state": state, "param_groups": param_groups}


class _StackedNets:
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
