#!/usr/bin/env python
"""Seconds per training epoch of timm bodies on this machine, measured on a slice of the data and extrapolated.

usage: python tools/bench_transfer.py DATA [--archs vgg16 resnet101] [--sizes 48 96] [--batches 6] [--out results/benchmarks/transfer_cpu.json]

For each architecture, input size and regime (scratch: all layers train; frozen: the body is frozen, fastai
keeps its BatchNorm trainable), one fastai epoch over `batches` batches of the 4-class train split is timed
(after 2 warm-up batches), and the time per image is multiplied by the size of the whole train split.
"""
import argparse, json, time, datetime
from pathlib import Path
from fer_nb.data import load_fer
from fer_nb.learner import fer_learner
from fer_nb.records import hardware, versions
from fastai.callback.core import Callback

class Timer(Callback):
    order = 100
    def before_fit(self): self.times = []
    def before_batch(self): self.t0 = time.perf_counter()
    def after_batch(self):
        if self.training: self.times.append(time.perf_counter() - self.t0)

def bench(data, arch, size, regime, bs, batches, warm=2):
    sub = data.sample((bs*(batches+warm))//len(data.classes) + 1, splits=['train'])
    tm = Timer()
    learn = fer_learner(sub, arch, size=size, bs=bs, cbs=[tm], path='/tmp')  # random weights, augmented, channels_last
    if regime == 'frozen': learn.freeze()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    t = sum(tm.times[warm:warm+batches]); n = bs*len(tm.times[warm:warm+batches])
    return dict(arch=arch, size=size, regime=regime, bs=bs, images_timed=n, s_per_image=t/n,
                s_per_epoch=round(t/n*len(data.y['train']), 1), train_images=len(data.y['train']))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('data'); ap.add_argument('--archs', nargs='+', default=['vgg16', 'resnet101'])
    ap.add_argument('--sizes', nargs='+', type=int, default=[48, 96]); ap.add_argument('--regimes', nargs='+', default=['scratch', 'frozen'])
    ap.add_argument('--batches', type=int, default=6); ap.add_argument('--bs', type=int, default=64); ap.add_argument('--out')
    a = ap.parse_args()
    data = load_fer(a.data, classes=4, verbose=False)
    rows = []
    for arch in a.archs:
        for size in a.sizes:
            for regime in a.regimes:
                r = bench(data, arch, size, regime, a.bs, a.batches); rows.append(r)
                print(f"{arch:10s} {size:3d} px {regime:8s} {r['s_per_epoch']:8.1f} s/epoch (from {r['images_timed']} images)", flush=True)
    rec = dict(what='seconds per training epoch, measured on a slice and extrapolated to the whole train split', data=data.label,
               command='python tools/bench_transfer.py ' + ' '.join(__import__('sys').argv[1:]), rows=rows, hardware=hardware(), versions=versions(),
               finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
    if a.out: Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(rec, indent=1))
