"""Terminal progress for training: a tqdm bar on a terminal, plain lines elsewhere (CI logs).

train.train() only calls a callback; this module picks the display, so train.py (which also runs
in the browser) never imports tqdm.
"""
import sys


def epoch_bar(name, total, stream=None):
    """A progress(epoch, total, loss) callback for train.train() that reports model `name`."""
    stream = stream or sys.stderr
    if stream.isatty():
        return _tqdm_bar(name, total, stream)

    def plain(epoch, _total, loss=None):
        if epoch in (1, total) or epoch % 5 == 0:
            tail = f"  loss {loss:.3f}" if loss is not None else ""
            stream.write(f"  {name} epoch {epoch}/{total}{tail}\n")
            stream.flush()
    return plain


def _tqdm_bar(name, total, stream):
    from tqdm import tqdm
    bar = tqdm(total=total, desc=f"  {name}", unit="epoch", file=stream, leave=True, dynamic_ncols=True)

    def update(epoch, _total, loss=None):
        bar.update(epoch - bar.n)
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        if epoch >= total:
            bar.close()
    return update
