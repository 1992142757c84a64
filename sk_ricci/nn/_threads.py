"""The networks' thread policy: the paper's tiny networks train on one torch
thread."""

from contextlib import contextmanager


@contextmanager
def one_torch_thread():
    """Run torch on one thread, then restore its thread count: the paper's
    networks are tiny, train fastest on one thread, and parallel workers then
    do not oversubscribe the cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
