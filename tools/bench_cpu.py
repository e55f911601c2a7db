"""CPU benchmarks behind the figures in the issues' closing notes; writes one JSON record.

usage: python tools/bench_cpu.py ../shared/data/fer2013-dev.zip [--model results/cpu/custom-gray/model.pt] [--out results/benchmarks/cpu.json]
Run on an idle machine: every figure is wall time on this machine's cores.
"""
import argparse, json, os, shutil, subprocess, tempfile, time
from pathlib import Path
import pandas as pd, torch

from fastai.callback.core import Callback
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat
from fastai.torch_core import set_seed
from fer_nb.callbacks import PlainTensors
from fer_nb.data import FerData, fer_dls, pixel_stats
from fer_nb.learner import scratch_dir
from fer_nb.models import get_model

class _BatchTimer(Callback):
    order = 100
    def __init__(self, skip=2): self.skip = skip
    def before_batch(self):
        if self.training and self.iter == self.skip: self.t0 = time.perf_counter()
    def after_train(self): self.seconds = time.perf_counter() - self.t0

def fastai_vs_bare(data:FerData, arch:str='custom', bs:int=128, n_batches:int=20, lr:float=1e-3, seed:int=0,
                   rounds:int=3) -> dict:
    "Training images/s of `arch` through fastai's `Learner` and a bare PyTorch loop; best of `rounds` alternating runs."
    # both see the same tensors and batch size
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(data.y['train']), generator=g)[:bs*n_batches]
    x, y = data.x['train'][idx], data.y['train'][idx]
    sub = FerData(dict(train=x, valid=x[:bs]), dict(train=y, valid=y[:bs]), dict(train=['']*len(y), valid=['']*bs),
                  data.classes, data.source, data.sha256, data.synthetic)
    mean, std = pixel_stats(x)
    mk = lambda: get_model(arch, len(data.classes), 1).to(memory_format=torch.channels_last)
    def fastai_run():
        set_seed(seed); tm = _BatchTimer()
        learn = Learner(fer_dls(sub, bs=bs, aug=False, stats=(mean, std)), mk(), loss_func=CrossEntropyLossFlat(),
                        wd=0.01, path=scratch_dir(), cbs=[PlainTensors(), tm])
        with learn.no_bar(), learn.no_logging(): learn.fit(1, lr)
        return bs*(n_batches-2)/tm.seconds
    def bare_run():
        set_seed(seed); model = mk().train(); opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        perm = torch.randperm(len(y))
        for i in range(n_batches):
            if i == 2: t0 = time.perf_counter()
            b = perm[i*bs:(i+1)*bs]
            xb = ((x[b].float()/255 - mean)/std).unsqueeze(1)
            loss = torch.nn.functional.cross_entropy(model(xb), y[b])
            opt.zero_grad(); loss.backward(); opt.step()
        return bs*(n_batches-2)/(time.perf_counter()-t0)
    runs = [(fastai_run(), bare_run()) for _ in range(rounds)]
    f, b = max(r[0] for r in runs), max(r[1] for r in runs)
    return dict(arch=arch, bs=bs, batches=n_batches-2, rounds=rounds, fastai_img_s=round(f, 1), bare_img_s=round(b, 1),
                ratio=round(f/b, 3), all_rounds=[[round(u, 1), round(v, 1)] for u, v in runs],
                threads=torch.get_num_threads())

def timed(f):
    t = time.perf_counter(); r = f(); return r, round(time.perf_counter() - t, 3)

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('zip'); ap.add_argument('--model'); ap.add_argument('--out', default='results/benchmarks/cpu.json')
    a = ap.parse_args()
    from fer_nb.data import load_fer, fer_dl, fer_tfms, BatchAug, loader_speed
    from fer_nb.inference import get_probs, load_model
    from fer_nb.records import hardware, versions
    from fastai.vision.augment import aug_transforms
    rec = dict(what='CPU benchmarks (tools/bench_cpu.py)', hardware=hardware(), versions=versions(), data=a.zip)
    with tempfile.TemporaryDirectory() as cache:
        os.environ['FER_NB_CACHE'] = cache
        d, rec['zip_first_load_s'] = timed(lambda: load_fer(a.zip, classes=7, verbose=False))
        _, rec['zip_cached_load_s'] = timed(lambda: load_fer(a.zip, classes=7, verbose=False))
        # the same images as a Kaggle CSV (Training rows, PublicTest rows)
        csv = Path(cache)/'fer2013.csv'
        inv = {'train': 'Training', 'valid': 'PublicTest', 'test': 'PrivateTest'}
        pd.concat([pd.DataFrame(dict(emotion=d.y[s].numpy(), pixels=[' '.join(map(str, x.flatten().tolist())) for x in d.x[s]], Usage=inv[s]))
                   for s in d.splits]).to_csv(csv, index=False)
        rec['csv_mb'] = round(csv.stat().st_size/1e6, 1)
        c, rec['csv_first_load_s'] = timed(lambda: load_fer(csv, classes=7, verbose=False))
        _, rec['csv_cached_load_s'] = timed(lambda: load_fer(csv, classes=7, verbose=False))
        assert all(torch.equal(torch.sort(c.x[s].flatten(1).sum(1)).values, torch.sort(d.x[s].flatten(1).sum(1)).values) for s in d.splits)
    data = d.subset(4)
    base = [t for t in fer_tfms(data) if not isinstance(t, BatchAug)]
    fast = aug_transforms(max_rotate=10., max_zoom=1.1, max_lighting=0.2, max_warp=0., p_affine=0.75, p_lighting=0.75)
    rec['loader_img_s_bs256'] = {n: round(loader_speed(fer_dl(data, 'train', 256, shuffle=True, drop_last=True, tfms=t, split_idx=0), 4.0))
                                 for n, t in [('BatchAug', fer_tfms(data)), ('fastai aug_transforms', base + fast), ('no augmentation', base)]}
    print(json.dumps(rec, indent=1), flush=True)
    rec['fastai_vs_bare_custom'] = fastai_vs_bare(data, 'custom', bs=128, n_batches=32)
    print(rec['fastai_vs_bare_custom'], flush=True)
    if a.model:
        model, meta = load_model(a.model)
        x = data.x['valid']
        get_probs(model, x[:512], meta)
        _, s = timed(lambda: get_probs(model, x, meta, bs=512))
        rec['inference'] = dict(model=a.model, images=len(x), seconds=s, img_s=round(len(x)/s, 1), bs=512)
        from skimage import data as skdata
        from PIL import Image
        with tempfile.TemporaryDirectory() as t:
            Image.fromarray(skdata.astronaut()).save(Path(t)/'astronaut.jpg')
            from fer_nb.predict import predict_images
            predict_images(model, meta, [Path(t)/'astronaut.jpg'])
            _, s1 = timed(lambda: predict_images(model, meta, [Path(t)/'astronaut.jpg']))
            cmd = [shutil.which('fer-nb'), 'predict', a.model, str(Path(t)/'astronaut.jpg'), '--json']
            r, s2 = timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
            rec['predict_photo'] = dict(photo='skimage astronaut 512x512', in_process_s=s1, cli_wall_s=s2, cli_output=json.loads(r.stdout))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(rec, indent=1))
    print(json.dumps(rec, indent=1))

if __name__ == '__main__': main()
