"""Part 1: nnviz.train (numpy) against the same network in PyTorch CPU."""
from __future__ import annotations

import dataclasses
import os
import time
from machine import TRAIN_MODELS, blas_threads, log, median, np, set_blas_threads



# =============================================================================== 1. training

class Quiet:
    def update(self, *a, **k):
        pass

    def done(self, *a, **k):
        pass


def train_numpy(spec, ds):
    """nnviz.train.train itself; returns (wall seconds of the call, test accuracy, train accuracy)."""
    from nnviz import train as tr
    t0 = time.perf_counter()
    model, meta = tr.train(spec, ds, progress=Quiet())
    seconds = time.perf_counter() - t0
    _, test_acc = tr.evaluate(model, tr.flatten(ds.x_test), ds.y_test.astype(np.int64))
    return seconds, test_acc, meta["history"]["train_acc"][-1]


def train_torch(spec, ds):
    """The same training as nnviz.train.train, step for step, in PyTorch CPU (float32).

    Same seeded generator drawing the same initial weights (nnviz.train.init_params) and then the
    same permutation per epoch; same standardisation; loss = mean cross-entropy; L2 (l2/2)*sum W^2 on
    weights only (Adam weight_decay on the weight group = numpy's grad + l2*W); Adam betas 0.9/0.999,
    eps 1e-8 (the same update formula as nnviz.train.Optimizer); lr *= lr_decay after every epoch;
    and, like numpy's train(), a train-set accuracy pass at the end, inside the timed span.
    Returns (wall seconds, test accuracy, train accuracy)."""
    import torch
    import torch.nn.functional as F
    from nnviz import train as tr
    act = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[spec.activation]

    def forward(a, ws, bs):
        for l, (w, b) in enumerate(zip(ws, bs)):
            z = torch.addmm(b, a, w)
            a = act(z) if l < len(ws) - 1 else z
        return a  # logits

    t0 = time.perf_counter()
    rng = np.random.default_rng(spec.seed)
    x, y = tr.flatten(ds.x_train), ds.y_train.astype(np.int64)
    if spec.train_subset:
        x, y = x[:spec.train_subset], y[:spec.train_subset]
    mean, std = tr.standardisation(x)
    a0 = torch.from_numpy((x - mean) / std)
    yt = torch.from_numpy(y)
    w0, b0 = tr.init_params(spec.layers, spec.init, rng)
    ws = [torch.tensor(w, requires_grad=True) for w in w0]
    bs = [torch.tensor(b, requires_grad=True) for b in b0]
    if spec.optimizer == "adam":
        opt = torch.optim.Adam([{"params": ws, "weight_decay": spec.l2}, {"params": bs, "weight_decay": 0.0}],
                               lr=spec.lr, betas=(0.9, 0.999), eps=1e-8)
    else:  # torch's SGD momentum is numpy's up to where lr enters (identical while lr is constant)
        opt = torch.optim.SGD([{"params": ws, "weight_decay": spec.l2}, {"params": bs, "weight_decay": 0.0}],
                              lr=spec.lr, momentum=spec.momentum)
    n = len(a0)
    for _ in range(spec.epochs):
        order = torch.from_numpy(rng.permutation(n))
        for i in range(0, n, spec.batch):
            idx = order[i:i + spec.batch]
            loss = F.cross_entropy(forward(a0[idx], ws, bs), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        for group in opt.param_groups:
            group["lr"] *= spec.lr_decay
    with torch.no_grad():
        train_acc = float((forward(a0, ws, bs).argmax(1) == yt).double().mean())
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        xt = torch.from_numpy((tr.flatten(ds.x_test) - mean) / std)
        test_acc = float((forward(xt, ws, bs).argmax(1) == torch.from_numpy(ds.y_test.astype(np.int64))).double().mean())
    return seconds, test_acc, train_acc


def bench_training(epochs, reps, threads, models=TRAIN_MODELS):
    import torch
    from nnviz import data
    from nnviz.specs import BY_NAME
    default_threads, blas = blas_threads()
    default_torch = torch.get_num_threads()
    threads = threads or default_threads
    set_blas_threads(threads)
    torch.set_num_threads(threads)
    threads = blas_threads()[0]
    ds = data.load("mnist", progress=lambda *a: None)
    log(f"training: {len(models)} models x {reps} reps, <= {epochs} epochs each, numpy BLAS threads "
        f"{threads} (default {default_threads}), torch threads {torch.get_num_threads()} (default {default_torch})")
    # warm-up, untimed: BLAS/OpenMP thread pools, torch's lazy initialisation, first-touch pages
    warm = dataclasses.replace(BY_NAME["mnist-h30"], epochs=1, train_subset=4096)
    train_numpy(warm, ds)
    train_torch(warm, ds)
    runs = {name: {"numpy": [], "torch": []} for name in models}
    for rep in range(reps):
        for k, name in enumerate(models):
            spec = dataclasses.replace(BY_NAME[name], epochs=min(epochs, BY_NAME[name].epochs), curves=False)
            order = ("numpy", "torch") if (rep + k) % 2 == 0 else ("torch", "numpy")
            for side in order:
                load_before = os.getloadavg()[0]
                s, acc, tacc = (train_numpy if side == "numpy" else train_torch)(spec, ds)
                runs[name][side].append({"seconds": round(s, 3), "test_acc": acc, "train_acc": tacc,
                                         "load1": round(load_before, 2)})
                log(f"  rep {rep + 1}/{reps} {name:<14} {side:<5} {s:7.2f} s  test acc {100 * acc:.2f}%")
    out = []
    for name in models:
        spec = BY_NAME[name]
        r = runs[name]
        nps, ts = [x["seconds"] for x in r["numpy"]], [x["seconds"] for x in r["torch"]]
        paired = [a / b for a, b in zip(nps, ts)]
        out.append({
            "model": name, "layers": spec.layers, "activation": spec.activation, "optimizer": spec.optimizer,
            "batch": spec.batch, "l2": spec.l2, "lr": spec.lr, "lr_decay": spec.lr_decay,
            "epochs": min(epochs, spec.epochs), "table_epochs": spec.epochs,
            "numpy_seconds": median(nps), "torch_seconds": median(ts),
            "ratio": round(median(nps) / median(ts), 3), "paired_ratio_median": round(median(paired), 3),
            "numpy_test_acc": median([x["test_acc"] for x in r["numpy"]]),
            "torch_test_acc": median([x["test_acc"] for x in r["torch"]]),
            "runs": r})
    result = {"epochs_cap": epochs, "reps": reps, "numpy_blas": blas, "numpy_blas_threads": threads,
              "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
              "numpy_blas_threads_default": default_threads, "torch_threads_default": default_torch,
              "models": out}
    set_blas_threads(default_threads)
    torch.set_num_threads(default_torch)
    return result


