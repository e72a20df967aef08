"""The forward pass of a BERT encoder (all-MiniLM-L6-v2) in numpy, float32, with mean pooling.

Per layer: self-attention over the unpadded tokens, a residual and LayerNorm, a GELU (erf form,
as BERT) feed-forward, a residual and LayerNorm. The sentence vector is the mean of the last
layer's token vectors under the attention mask, scaled to unit length. Weights are the
`BertModel` tensors of a safetensors file (engine/safetensors_file.py); nothing is copied but
the fused query/key/value matrices.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from orchestratex.engine.safetensors_file import read_safetensors

F32 = npt.NDArray[np.float32]

# Abramowitz & Stegun 7.1.26: erf(x) = 1 - t (a1 + t (a2 + ...)) exp(-x^2), t = 1 / (1 + p x),
# for x >= 0; absolute error under 1.5e-7, about float32's rounding.
_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(
    np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
)
_SQRT_HALF = np.float32(1 / math.sqrt(2))


def gelu(x: F32) -> F32:
    """x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2)), with erf from the formula above."""
    z = np.abs(x) * _SQRT_HALF
    t = 1 / (1 + _ERF_P * z)
    poly = np.full_like(t, _ERF_A[0])
    for a in _ERF_A[1:]:
        poly *= t
        poly += a
    poly *= t
    # erfc(|z|) = poly * exp(-z^2); 1 + erf(z) is 2 - erfc for z >= 0, erfc(|z|) below zero.
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z
    half_erfc = poly
    half_erfc *= np.float32(0.5)
    out = np.where(x >= 0, 1 - half_erfc, half_erfc)
    out *= x
    return out


def layer_norm(x: F32, weight: F32, bias: F32, eps: float) -> F32:
    centred: F32 = x - x.mean(axis=-1, keepdims=True)
    var: F32 = np.square(centred).mean(axis=-1, keepdims=True)
    centred /= np.sqrt(var + np.float32(eps))
    centred *= weight
    centred += bias
    return centred


@dataclass(frozen=True, slots=True)
class Layer:
    qkv: F32  # (hidden, 3 * hidden): query, key, value columns side by side
    qkv_bias: F32
    out: F32  # (hidden, hidden) as stored (out_features, in_features)
    out_bias: F32
    norm1: tuple[F32, F32]
    up: F32
    up_bias: F32
    down: F32
    down_bias: F32
    norm2: tuple[F32, F32]


@dataclass(frozen=True, slots=True)
class MiniLM:
    """A loaded BERT encoder; `encode` is safe to call from several threads at once."""

    words: F32
    positions: F32
    token_type: F32
    norm: tuple[F32, F32]
    layers: tuple[Layer, ...]
    heads: int
    eps: float

    @classmethod
    def load(cls, folder: Path) -> MiniLM:
        """Read `config.json` and `model.safetensors` from `folder`."""
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        t = read_safetensors(folder / "model.safetensors")

        def w(name: str) -> F32:
            arr: F32 = t[name]
            return arr

        def norm(prefix: str) -> tuple[F32, F32]:
            return w(f"{prefix}.LayerNorm.weight"), w(f"{prefix}.LayerNorm.bias")

        layers = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}"
            att = f"{p}.attention.self"
            parts = ("query", "key", "value")
            qkv = np.concatenate([w(f"{att}.{n}.weight") for n in parts]).T.copy()
            layers.append(
                Layer(
                    qkv=qkv,
                    qkv_bias=np.concatenate([w(f"{att}.{n}.bias") for n in parts]),
                    out=w(f"{p}.attention.output.dense.weight"),
                    out_bias=w(f"{p}.attention.output.dense.bias"),
                    norm1=norm(f"{p}.attention.output"),
                    up=w(f"{p}.intermediate.dense.weight"),
                    up_bias=w(f"{p}.intermediate.dense.bias"),
                    down=w(f"{p}.output.dense.weight"),
                    down_bias=w(f"{p}.output.dense.bias"),
                    norm2=norm(f"{p}.output"),
                )
            )
        return cls(
            words=w("embeddings.word_embeddings.weight"),
            positions=w("embeddings.position_embeddings.weight"),
            token_type=w("embeddings.token_type_embeddings.weight"),
            norm=norm("embeddings"),
            layers=tuple(layers),
            heads=int(config["num_attention_heads"]),
            eps=float(config["layer_norm_eps"]),
        )

    @property
    def dim(self) -> int:
        return int(self.words.shape[1])

    def _attention(self, x: F32, layer: Layer, key_bias: F32) -> F32:
        batch, length, hidden = x.shape
        size = hidden // self.heads
        qkv = x.reshape(-1, hidden) @ layer.qkv
        qkv += layer.qkv_bias
        # (3, batch, heads, length, size)
        qkv = qkv.reshape(batch, length, 3, self.heads, size).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2)
        scores *= np.float32(1 / math.sqrt(size))
        scores += key_bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(-1, hidden)
        out: F32 = context @ layer.out.T
        out += layer.out_bias
        return out.reshape(batch, length, hidden)

    def _layer(self, x: F32, layer: Layer, key_bias: F32) -> F32:
        x = layer_norm(self._attention(x, layer, key_bias) + x, *layer.norm1, self.eps)
        flat = x.reshape(-1, x.shape[-1])
        up = flat @ layer.up.T
        up += layer.up_bias
        down = gelu(up) @ layer.down.T
        down += layer.down_bias
        return layer_norm(down.reshape(x.shape) + x, *layer.norm2, self.eps)

    def encode(self, batch: Sequence[Sequence[int]]) -> F32:
        """Unit-length mean-pooled vectors of token-id lists (padded here to the longest)."""
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        x = self.words[ids] + self.positions[:length] + self.token_type[0]
        x = layer_norm(x, *self.norm, self.eps)
        # Padded keys get the lowest float: exp() makes their attention weight 0.
        key_bias = ((1 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in self.layers:
            x = self._layer(x, layer, key_bias)
        summed = np.einsum("btd,bt->bd", x, mask)
        pooled: F32 = summed / np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
        return pooled
