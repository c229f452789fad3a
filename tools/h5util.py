"""HDF5 writers for Spikify model and dataset files (see Tests/Fixtures/README.md)."""

from __future__ import annotations

import hashlib
from typing import Dict, Mapping, Optional

import h5py
import numpy as np
import torch


def to_numpy(v) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        return v.detach().cpu().numpy()
    return np.asarray(v)


def _set_attr(obj, k, v):
    if isinstance(v, str):
        obj.attrs[k] = v                               # variable-length UTF-8 string
    elif isinstance(v, bool):
        raise TypeError(f"bool attribute {k} not supported")
    elif isinstance(v, (int, np.integer)):
        obj.attrs[k] = np.int64(v)
    elif isinstance(v, (float, np.floating)):
        obj.attrs[k] = np.float64(v)
    else:
        obj.attrs[k] = np.asarray(v, dtype=np.float32)  # float arrays (mean, std)


def write_model(path: str, state: Mapping[str, object], attrs: Mapping[str, object], *,
                nested: bool = False, prefix: str = "", dtype=np.float32) -> None:
    """One dataset per tensor, shapes exactly as PyTorch's.

    nested=False: flat dataset names that contain dots ("blocks.0.attn.qkv.weight").
    nested=True:  groups split at the dots ("blocks/0/attn/qkv/weight").
    prefix:       e.g. "module." (a DataParallel checkpoint).
    """
    with h5py.File(path, "w") as f:
        for k, v in state.items():
            a = np.array(to_numpy(v), dtype=dtype, order="C")  # keeps 0-d shape ()
            name = prefix + k
            if nested:
                name = name.replace(".", "/")
            f.create_dataset(name, data=a)
        for k, v in attrs.items():
            _set_attr(f, k, v)


def write_dataset(path: str, images: np.ndarray, labels: np.ndarray,
                  extra: Optional[Dict[str, np.ndarray]] = None,
                  attrs: Optional[Mapping[str, object]] = None) -> None:
    """images: uint8 [N,H,W,C] or float32 [N,C,H,W]; labels int64 [N]; extra float32 arrays."""
    assert images.dtype in (np.uint8, np.float32), images.dtype
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.ascontiguousarray(images))
        f.create_dataset("labels", data=np.ascontiguousarray(labels.astype(np.int64)))
        for k, v in (extra or {}).items():
            f.create_dataset(k, data=np.ascontiguousarray(np.asarray(v, dtype=np.float32)))
        for k, v in (attrs or {}).items():
            _set_attr(f, k, v)


def preprocess_uint8(images: np.ndarray, mean, std) -> torch.Tensor:
    """uint8 [N,H,W,C] -> float32 [N,C,H,W]: x/255, then (x-mean)/std, all in float32."""
    x = torch.from_numpy(images.astype(np.float32)).permute(0, 3, 1, 2).contiguous()
    x = x / 255.0
    m = torch.tensor(np.asarray(mean, dtype=np.float32)).view(1, -1, 1, 1)
    s = torch.tensor(np.asarray(std, dtype=np.float32)).view(1, -1, 1, 1)
    return (x - m) / s


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
