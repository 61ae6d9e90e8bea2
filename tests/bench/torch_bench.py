"""PyTorch peer of `overunlearn bench`: the same presets, batches, images and timing rules.

Mirrors crate/src/model/mod.rs exactly: each block is `convs` x (3x3 conv, padding same, bias;
ReLU; batch-norm), 2x2 max-pool, dropout; then flatten, dense, ReLU, batch-norm, dropout, output.
Adam (lr 1e-3, betas 0.9/0.999, eps 1e-5 as burn's default), mean cross-entropy, loss and
accuracy read back after every step, on the first images of CIFAR-10's data_batch_1 scaled to
[-0.5, 0.5]. Prints one JSON object per preset.
"""

import argparse
import json
import os
import statistics
import time

import numpy as np
import torch
from torch import nn

PRESETS = {
    # (filters, convs, dropout) per block, dense, dense dropout
    "tutorial": ([(16, 1, 0.0), (32, 1, 0.0), (64, 1, 0.1)], 64, 0.1),
    "lab": ([(32, 2, 0.1), (64, 2, 0.1), (128, 2, 0.2)], 256, 0.2),
    "paper": ([(128, 2, 0.1), (128, 2, 0.1), (128, 2, 0.2)], 512, 0.0),
}


def build(preset, classes=10, channels=3, side=32):
    blocks, dense, dense_dropout = PRESETS[preset]
    layers = []
    for filters, convs, dropout in blocks:
        for _ in range(convs):
            layers += [nn.Conv2d(channels, filters, 3, padding="same"), nn.ReLU(), nn.BatchNorm2d(filters)]
            channels = filters
        layers += [nn.MaxPool2d(2), nn.Dropout(dropout)]
        side //= 2
    layers += [
        nn.Flatten(),
        nn.Linear(channels * side * side, dense),
        nn.ReLU(),
        nn.BatchNorm1d(dense),
        nn.Dropout(dense_dropout),
        nn.Linear(dense, classes),
    ]
    return nn.Sequential(*layers)


def load(path, count):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    idx = np.arange(count) % raw.shape[0]
    labels = torch.from_numpy(raw[idx, 0].astype(np.int64))
    images = torch.from_numpy(raw[idx, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0 - 0.5)
    return images, labels


def bench(preset, a, data_path):
    torch.manual_seed(a.seed)
    start = time.perf_counter()
    net = build(preset)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-5)
    loss_fn = nn.CrossEntropyLoss()
    distinct = max(a.steps, a.warmup, 1)
    images, labels = load(data_path, distinct * a.batch_size)
    batches = [
        (images[k * a.batch_size : (k + 1) * a.batch_size], labels[k * a.batch_size : (k + 1) * a.batch_size])
        for k in range(distinct)
    ]
    net.train()
    first_step = None
    last_loss = float("nan")

    def step(k):
        nonlocal first_step, last_loss
        x, y = batches[k % len(batches)]
        opt.zero_grad(set_to_none=True)
        logits = net(x)
        loss = loss_fn(logits, y)
        hits = (logits.argmax(1) == y).sum()
        loss.backward()
        opt.step()
        last_loss, _ = loss.item(), hits.item()
        if first_step is None:
            first_step = time.perf_counter() - start

    # crate/src/bench.rs: at least `warmup` steps, and on until `warmup_seconds` passed.
    k = 0
    while k < max(a.warmup, 1) or time.perf_counter() - start < a.warmup_seconds:
        step(k)
        k += 1
    train_runs = []
    for _ in range(a.runs):
        t = time.perf_counter()
        for k in range(a.steps):
            step(k)
        train_runs.append(a.steps * a.batch_size / (time.perf_counter() - t))

    net.eval()
    inf_images, _ = load(data_path, a.inference_batches * a.inference_batch)
    inf = [inf_images[k * a.inference_batch : (k + 1) * a.inference_batch] for k in range(a.inference_batches)]
    inference_runs = []
    with torch.no_grad():
        net(inf[0]).numpy()
        for _ in range(a.runs):
            t = time.perf_counter()
            for x in inf:
                net(x).numpy()
            inference_runs.append(a.inference_batches * a.inference_batch / (time.perf_counter() - t))
    return {
        "peer": "pytorch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "preset": preset,
        "train_runs": train_runs,
        "train_images_per_sec": statistics.median(train_runs),
        "inference_runs": inference_runs,
        "inference_images_per_sec": statistics.median(inference_runs),
        "first_step_seconds": first_step,
        "last_loss": last_loss,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.environ.get("OVERUNLEARN_DATA", "data"))
    p.add_argument("--preset", action="append")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--warmup-seconds", type=float, default=0.0)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--inference-batch", type=int, default=256)
    p.add_argument("--inference-batches", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    data_path = os.path.join(a.data, "cifar-10-batches-bin", "data_batch_1.bin")
    for preset in a.preset or ["tutorial", "lab"]:
        print(json.dumps(bench(preset, a, data_path)), flush=True)


if __name__ == "__main__":
    main()
