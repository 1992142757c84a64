"""Forward hooks that record the outputs of chosen modules of a torch model.

:func:`record_batches` runs ``X`` through the model batch by batch in eval
mode under ``torch.no_grad()``, with a forward hook on every chosen module,
and returns each batch's calls in forward order; the hooks are removed and
every submodule's train/eval mode restored afterwards, whatever happens. Used
by :func:`~sk_ricci.nn.layer_activations`.
"""

import torch


class _LayerOutputError(ValueError):
    """A hooked module returned something that is not one tensor per sample."""


def _device_and_dtype(module):
    """Where and in what precision the module computes (its first parameter's)."""
    parameter = next(module.parameters(), None)
    if parameter is None:
        return torch.device("cpu"), torch.float32
    dtype = parameter.dtype if parameter.is_floating_point() else torch.float32
    return parameter.device, dtype


class _Recorder:
    """Forward hooks that record every call's output, one batch at a time,
    flattened to ``(n_rows, -1)`` float64 on the CPU."""

    def __init__(self, transform=None):
        self.calls, self.n_rows = [], 0
        # applied to each output (detached, on its device, in its dtype)
        # before it is flattened, e.g. global average pooling of a feature
        # map to float64 on the CPU; None keeps it whole
        self.transform = transform

    def start(self, n_rows):
        """Forget the previous batch's calls; the next batch has ``n_rows``."""
        self.calls, self.n_rows = [], n_rows

    def hook(self, name):
        def record(module, _input, output):
            self._record(name, module, output)

        return record

    def _record(self, name, module, output):
        n_rows = self.n_rows
        if not isinstance(output, torch.Tensor) or output.ndim == 0 or (
            output.shape[0] != n_rows
        ):
            got = (
                f"shape {tuple(output.shape)}"
                if isinstance(output, torch.Tensor)
                else f"a {type(output).__name__}"
            )
            raise _LayerOutputError(
                f"module {name!r} ({type(module).__name__}) returned {got}, "
                f"not one tensor with a first axis of {n_rows} samples; "
                "choose modules that output a (n_samples, ...) tensor."
            )
        if self.transform is not None:
            # given the output as computed; returns a float64 CPU tensor
            output = self.transform(output.detach())
        self.calls.append(
            (
                name,
                output.detach()
                .reshape(output.shape[0], -1)
                .to(device="cpu", dtype=torch.float64, copy=True),
            )
        )


def record_batches(
    module, X, targets, batch_size, what, *, on_batch=None, transform=None
):
    """Every batch's recorded ``(name, output)`` calls, from forward passes in
    eval mode under ``no_grad``; hooks and train/eval modes are restored.

    With ``on_batch``, each batch's calls go to ``on_batch(start, calls)``
    (``start``: the batch's first row of ``X``) instead of being kept: the
    result then holds only the first batch's calls, names without outputs
    (``(name, None)``), so that no more than one batch of outputs is held at
    a time. ``transform`` (see :class:`_Recorder`) reduces each output."""
    device, dtype = _device_and_dtype(module)
    recorder = _Recorder(transform)
    modes = [(m, m.training) for m in module.modules()]
    handles, batches, rows = [], [], []
    try:
        for name, target in targets:
            handles.append(target.register_forward_hook(recorder.hook(name)))
        module.eval()
        with torch.no_grad():
            for start in range(0, X.shape[0], batch_size):
                batch = torch.as_tensor(
                    X[start : start + batch_size], dtype=dtype, device=device
                )
                recorder.start(batch.shape[0])
                _forward_batch(module, batch, X.shape)
                rows.append(batch.shape[0])
                _check_calls(
                    module, recorder.calls, batches, rows, len(targets), what,
                    batch_size, X.shape[0],
                )
                if on_batch is None:
                    batches.append(recorder.calls)
                    continue
                if not batches:
                    batches.append([(name, None) for name, _ in recorder.calls])
                on_batch(start, recorder.calls)
                recorder.calls = []
    finally:
        for handle in handles:
            handle.remove()
        for submodule, training in modes:
            submodule.training = training
    return batches


def _forward_batch(module, batch, shape):
    try:
        module(batch)
    except RuntimeError as exc:
        raise ValueError(
            f"The forward pass of {type(module).__name__} failed on X "
            f"of shape {shape}: {exc}. Check that X has the number "
            "of features (or the image shape) the network was built "
            "for."
        ) from exc


def _call_names(calls, limit=8):
    names = [name for name, _ in calls]
    text = ", ".join(repr(name) for name in names[:limit])
    if len(names) > limit:
        text += f", ... ({len(names)} calls)"
    return f"[{text}]"


def _check_calls(
    module, calls, batches, rows, n_targets, what, batch_size, n_samples
):
    """A batch's calls: at least one, and the same sequence as the first's.

    ``rows`` holds the number of rows of every batch so far, this one last.
    """
    if not calls and not batches:
        one_batch = (
            f" (batch_size={n_samples} reads all of X in one batch)"
            if n_samples > rows[0]
            else ""
        )
        raise ValueError(
            f"None of the {n_targets} {what} of {type(module).__name__} was "
            f"called in its forward pass on the first batch of X ({rows[0]} of "
            f"{n_samples} rows, batch_size={batch_size}), so there is no layer "
            "to read. If forward calls torch.relu / F.relu, use the modules "
            "instead; if it calls them only for some inputs or batch sizes "
            "(e.g. only above some number of rows), pass X and a batch_size "
            f"for which it does{one_batch}."
        )
    if batches and [n for n, _ in calls] != [n for n, _ in batches[0]]:
        raise ValueError(
            f"The {what} of {type(module).__name__} were called "
            f"{_call_names(batches[0])} on batch 1 of X ({rows[0]} rows) but "
            f"{_call_names(calls)} on batch {len(rows)} ({rows[-1]} rows, "
            f"batch_size={batch_size}); layer_activations needs every batch "
            "to call the same modules in the same order. If forward depends on "
            "the number of rows, read X in one batch: pass batch_size="
            f"{n_samples} (the number of rows of X)."
        )
