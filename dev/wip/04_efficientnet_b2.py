# %% [markdown]
# # EfficientNet-B2: the collapse, its cause, the fix
#
# > The capstone's EfficientNet-B2 stayed at chance in every regime; it blamed vanishing and exploding gradients. We reproduce the collapse with the mistake most likely behind it, look at it with the gradient diagnostics, and fix it.

# %% [markdown]
# The capstone reported (4 classes, accuracy %):
#
# | EfficientNet-B2 | train | valid | test |
# |---|---|---|---|
# | last layer + new head (`truncated`) | 26.3 | 24.4 | 25 |
# | frozen + new head (`frozen`) | 26 | 24.4 | 25 |
# | unfrozen + new head (`unfrozen`) | 77.4 | 25 | 28 |
#
# 25% is chance on four classes. **Before reading on:** a model at chance whose loss sits at
# $\ln 4 \approx 1.386$ predicts the same probabilities for every image. What in a pipeline can make every
# image look the same to a network? And why would the unfrozen model learn its *training* images (77.4%)
# and still be at chance on images it has not seen?
#
# The candidates known from the field: inputs normalised twice or not at all; BatchNorm statistics (a
# network in training mode normalises each batch by its own statistics, in evaluation mode by running
# averages); a learning rate that wrecks the pretrained weights; 48 px inputs that leave EfficientNet a
# 2×2 feature map; heavy drop-connect. The one that fits all three rows is the first. Keras'
# `EfficientNetB2` (which the capstone used) contains its own preprocessing, `Rescaling(1/255)` and a
# `Normalization` layer, and expects pixels in 0..255; the usual Keras recipe also rescales the images to
# 0..1 (`ImageDataGenerator(rescale=1./255)`). The images then reach the network in 0..1/255:
# normalised twice, every face the same grey to within a few thousandths.

# %%
import fer_nb.data  # first: it silences a warning that importing fastai raises
import math, os
import numpy as np, pandas as pd, torch
import matplotlib.pyplot as plt
from fastcore.test import test_eq
from fer_nb.data import load_fer, fer_dls
from fer_nb.learner import train, preset, run_dir, load_model, get_probs
from fer_nb.transfer import weights_for, regime_frame, side_by_side, feature_stages, plot_regimes, get_transfer_model
from fer_nb.diagnostics import GradDiag, diagnose, plot_heatmap, ApplyInit, yilmaz_poli_init_
from functools import partial

# %% [markdown]
# ## Data and weights
#
# EfficientNet-B2 is cheap at 48 px, so even under `nbdev-test` this lesson trains on the whole synthetic
# training split; with `FER_NB_DATA` naming FER2013 it trains for real.

# %%
P = preset(); T = P.transfer
data = load_fer(P.data, classes=4, verbose=False)
E = dict(epochs=4, bs=64, lr_find_it=30) if P.name == 'ci' else dict(epochs=T['epochs'], bs=T['bs'], lr_find_it=T['lr_find_it'])
print(P, f"this lesson's runs: {E}", data, sep='\n')
W = weights_for('efficientnet_b2')

# %% [markdown]
# ## The mistake, reproduced
#
# `get_transfer_model(..., inner_norm=True)` puts Keras' preprocessing inside the body: it divides by 255
# and normalises with ImageNet's mean and std, on inputs that our data pipeline has already normalised.
# What the body then sees, for a batch of real faces:

# %%
xb = fer_dls(data, bs=64, channels=3, stats=([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])).one_batch()[0].as_subclass(torch.Tensor)
m = get_transfer_model('efficientnet_b2', 4, inner_norm=True)
seen = m[0][0](xb)
print(f"normalised once: std over the batch {xb.std().item():.3f}; normalised twice: std {seen.std().item():.4f}, "
      f"around {seen.mean().item():.3f}: the faces differ by {seen.std().item()/xb.std().item():.2%} of their contrast")

# %% [markdown]
# Each regime, with the mistake and without it, with the gradient diagnostics attached (every 10th step):

# %%
runs, diags = {}, {}
for bug in (True, False):
    for regime in ('frozen', 'unfrozen', 'scratch'):
        if regime == 'scratch' and bug: continue
        key = f"{'normalised twice' if bug else 'correct'}, {regime}"
        kw = dict(arch_kwargs=dict(weights=W, inner_norm=bug) if regime != 'scratch' else dict(inner_norm=bug))
        diags[key] = GradDiag(every=10)
        runs[key] = train(data, 'efficientnet_b2', regime=regime, channels=3, size=48, bs=E['bs'], epochs=E['epochs'], lr_find_it=E['lr_find_it'],
                          out=run_dir(P, f"efficientnet_b2/{key.replace(', ', '-').replace(' ', '-')}"), name=f"efficientnet_b2 {key}",
                          progress=False, cbs=[diags[key]], **kw)
regime_frame(runs)

# %% [markdown]
# ## The signature
#
# Three things identify a collapse: the validation loss at $\ln 4$, one class predicted for (almost)
# every image, and accuracy at the share of that class. The predictions per class come from each run's
# confusion matrix (column sums):

# %%
def signature(r):
    c = np.array(r['metrics']['valid']['confusion']); pred = c.sum(0)
    return dict(valid_loss=round(r['history'][-1]['valid_loss'], 3), ln4=round(math.log(4), 3), valid_acc=round(r['metrics']['valid']['accuracy'], 3),
                top_class_share=round(pred.max()/pred.sum(), 3), predicted=dict(zip(data.classes, pred.tolist())))
sig = pd.DataFrame({k: signature(r) for k, r in runs.items()}).T
sig

# %% [markdown]
# And the gradients. `diagnose` reads each run's record; the heatmaps show the frozen run with the mistake
# and the correct unfrozen run (log10 of each layer's gradient norm, input at the top):

# %%
for k, d in diags.items():
    if d.rows: print(f"{k}:"); [print('   ', l) for l in diagnose(d)]

# %%
fig, ax = plt.subplots(1, 2, figsize=(10, 3))
plot_heatmap(diags['normalised twice, unfrozen'], ax=ax[0], title='normalised twice, unfrozen', max_labels=12)
plot_heatmap(diags['correct, unfrozen'], ax=ax[1], title='correct, unfrozen', max_labels=12)
plt.tight_layout()

# %%
test_eq(all(r['status'] == 'complete' for r in runs.values()), True)

# %% [markdown]
# ## Side by side with the capstone

# %%
side_by_side('efficientnet_b2', runs)

# %% [markdown]
# ## Yilmaz & Poli where the capstone proposed it
#
# The capstone proposed Yilmaz & Poli's negative-mean initialisation as the cure. `05_gradient_diagnostics`
# shows it where it applies: deep sigmoid MLPs without normalisation, where it turns vanishing gradients
# into a network that trains. EfficientNet-B2 is a different animal: BatchNorm after every convolution
# re-centres and re-scales each layer's output whatever the mean of its weights, and SiLU is not a
# logistic unit. The experiment: the correct pipeline, from scratch, with the default initialisation
# (above) and with every convolution and linear layer shifted to mean $-k/\text{fan-in}$, same learning rate:

# %%
K_YP = 12  # the k chosen on validation data in 05_gradient_diagnostics' MLP experiment (committed run)
base = runs['correct, scratch']
d_yp = GradDiag(every=10)
runs['correct, scratch, Yilmaz & Poli init'] = train(data, 'efficientnet_b2', regime='scratch', channels=3, size=48, bs=E['bs'], epochs=E['epochs'],
    lr=base['lr_used'], out=run_dir(P, 'efficientnet_b2/correct-scratch-yilmaz-poli'), name='efficientnet_b2 correct, scratch, Yilmaz & Poli init',
    progress=False, cbs=[ApplyInit(partial(yilmaz_poli_init_, k=K_YP)), d_yp])
regime_frame({k: runs[k] for k in ('correct, scratch', 'correct, scratch, Yilmaz & Poli init')})

# %%
for k in ('correct, scratch',): print(f"{k}:"); [print('   ', l) for l in diagnose(diags[k])]
print('Yilmaz & Poli init:'); [print('   ', l) for l in diagnose(d_yp)]
