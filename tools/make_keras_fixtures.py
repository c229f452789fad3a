#!/usr/bin/env python3
"""Generate Spikify's Keras 3 import fixtures in Tests/Fixtures/ (seeded, no download).

    .venv/bin/python tools/make_keras_fixtures.py [--out Tests/Fixtures]

Each fixture is a keras_hub `ViTImageClassifier` around a `ViTBackbone` built from
arguments (no preset, no weights download), run with the torch backend
(`KERAS_BACKEND=torch`). Its weights are re-drawn at a realistic scale (as in
tools/make_fixtures.py), then saved exactly as a Keras user would:
`model.save_weights("<name>.weights.h5")`. The data file `<name>.data.h5` has
float32 images [N,C,H,W] (channels-first, what Spikify reads; already normalised:
the Keras model sees the same values transposed to [N,H,W,C]), random labels and
the reference `logits` from `model.predict`. Two more files exercise errors: a
Dense-only Keras model and a ViT without a class token. See
Tests/Fixtures/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h5util import sha256, write_dataset  # noqa: E402

import keras  # noqa: E402
import keras_hub  # noqa: E402

torch.set_num_threads(2)


def build_classifier(*, img, patch, chans, dim, depth, heads, mlp, classes, seed,
                     mha_bias=True, mlp_bias=True, patch_bias=True, class_token=True):
    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(img, img, chans), patch_size=patch, num_layers=depth, num_heads=heads,
        hidden_dim=dim, mlp_dim=mlp, use_mha_bias=mha_bias, use_mlp_bias=mlp_bias,
        use_patch_bias=patch_bias, use_class_token=class_token)
    model = keras_hub.models.ViTImageClassifier(backbone=backbone, num_classes=classes)
    randomize(model, seed)
    return model


def randomize(model, seed):
    """Re-draw every variable: LN gamma 1+0.3N, beta 0.2N, class token 0.5N, positions 0.3N,
    kernels N/sqrt(fan_in) (query/key/value x1.5 so attention is not uniform), biases 0.1N."""
    g = np.random.default_rng(1000 + seed)
    for v in model.weights:
        shape, path = tuple(v.shape), v.path
        leaf = path.split("/")[-1]
        if leaf == "class_token":
            x = 0.5 * g.standard_normal(shape)
        elif leaf == "embeddings":
            x = 0.3 * g.standard_normal(shape)
        elif leaf == "gamma":
            x = 1.0 + 0.3 * g.standard_normal(shape)
        elif leaf == "beta":
            x = 0.2 * g.standard_normal(shape)
        elif leaf == "bias":
            x = 0.1 * g.standard_normal(shape)
        elif leaf == "kernel":
            if "attention_output" in path:           # [heads, head_dim, D]: fan-in heads*head_dim
                fan_in = shape[0] * shape[1]
            else:                                     # Dense [in, out], MHA [D, h, hd], conv [kh, kw, cin, cout]
                fan_in = int(np.prod(shape[:-1])) if len(shape) != 3 else shape[0]
            gain = 1.5 if any(s in path for s in ("/query/", "/key/", "/value/")) else 1.0
            x = gain * g.standard_normal(shape) / np.sqrt(fan_in)
        else:
            raise KeyError(path)
        v.assign(x.astype(np.float32))


def check_gelu_is_exact(model):
    """keras_hub's ViT MLP uses Dense(activation="gelu"), i.e. keras.activations.gelu with
    approximate=False: the exact erf GELU (what Spikify's `gelu` computes)."""
    dense = model.backbone.get_layer("vit_encoder").encoder_layers[0].mlp.dense_1
    x = np.linspace(-4, 4, 81, dtype=np.float32)
    y = keras.ops.convert_to_numpy(dense.activation(keras.ops.convert_to_tensor(x)))
    exact = torch.nn.functional.gelu(torch.from_numpy(x)).numpy()
    tanh = torch.nn.functional.gelu(torch.from_numpy(x), approximate="tanh").numpy()
    assert np.abs(y - exact).max() < 1e-6, np.abs(y - exact).max()
    assert np.abs(y - tanh).max() > 1e-4          # distinguishable from the tanh approximation
    eps = {model.backbone.get_layer("vit_encoder").layer_norm.epsilon}
    assert eps == {1e-6}, eps


def run(out_dir, summary, name, *, n=6, **kw):
    model = build_classifier(**kw)
    check_gelu_is_exact(model)
    g = np.random.default_rng(kw["seed"] + 100)
    images = g.standard_normal((n, kw["chans"], kw["img"], kw["img"])).astype(np.float32)  # NCHW
    x = np.ascontiguousarray(images.transpose(0, 2, 3, 1))                                  # NHWC
    # keras.Model.predict: the Task's own predict() routes inputs through a tf.data/grain pipeline
    # (keras_hub's PipelineModel) even without a preprocessor, and would need tensorflow or grain.
    logits = np.asarray(keras.Model.predict(model, x, verbose=0), dtype=np.float32)
    direct = keras.ops.convert_to_numpy(model(x, training=False))
    assert np.abs(direct - logits).max() < 1e-5, np.abs(direct - logits).max()
    labels = np.random.default_rng(kw["seed"] + 7).integers(0, kw["classes"], size=n)
    mp = os.path.join(out_dir, f"{name}.weights.h5")
    dp = os.path.join(out_dir, f"{name}.data.h5")
    model.save_weights(mp)
    write_dataset(dp, images, labels, {"logits": logits})
    summary[name] = {os.path.basename(f): {"bytes": os.path.getsize(f)} for f in (mp, dp)}


def save_only(out_dir, summary, name, model):
    p = os.path.join(out_dir, f"{name}.weights.h5")
    model.save_weights(p)
    summary[name] = {os.path.basename(p): {"bytes": os.path.getsize(p)}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures"))
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)
    S = {}
    run(out, S, "keras_vit_token", img=32, patch=8, chans=3, dim=36, depth=2, heads=3, mlp=72,
        classes=10, seed=27)
    run(out, S, "keras_vit_nobias", img=16, patch=4, chans=1, dim=32, depth=2, heads=4, mlp=64,
        classes=10, seed=22, mha_bias=False, mlp_bias=False, patch_bias=False)

    # Not a ViT: a Dense-only model.
    keras.utils.set_random_seed(23)
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    save_only(out, S, "keras_dense_only", dense)
    # A ViT without a class token (its classifier's pooling has no Spikify equivalent).
    save_only(out, S, "keras_vit_no_class_token",
              build_classifier(img=8, patch=4, chans=1, dim=8, depth=1, heads=2, mlp=16, classes=3,
                               seed=24, class_token=False))
    S["_versions"] = {"keras": keras.__version__, "keras_hub": keras_hub.__version__,
                      "torch": torch.__version__, "backend": keras.backend.backend()}
    print(json.dumps(S, indent=1))


if __name__ == "__main__":
    main()
