"""The safetensors reader and the numpy encoder on a tiny random model (no weights package)."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from orchestratex.engine.minilm import MiniLM, gelu
from orchestratex.engine.safetensors_file import read_safetensors

HIDDEN, HEADS, FFN, LAYERS, VOCAB, POSITIONS = 8, 2, 16, 2, 20, 16


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs, at = [], 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr).tobytes()
        kind = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[arr.dtype]
        header[name] = {
            "dtype": kind,
            "shape": list(arr.shape),
            "data_offsets": [at, at + len(data)],
        }
        blobs.append(data)
        at += len(data)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def tiny_model(folder: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)

    def r(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.3, shape).astype(np.float32)

    t = {
        "embeddings.word_embeddings.weight": r(VOCAB, HIDDEN),
        "embeddings.position_embeddings.weight": r(POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": r(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + r(HIDDEN),
        "embeddings.LayerNorm.bias": r(HIDDEN),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        for part in ("query", "key", "value"):
            t[f"{p}.attention.self.{part}.weight"] = r(HIDDEN, HIDDEN)
            t[f"{p}.attention.self.{part}.bias"] = r(HIDDEN)
        t[f"{p}.attention.output.dense.weight"] = r(HIDDEN, HIDDEN)
        t[f"{p}.attention.output.dense.bias"] = r(HIDDEN)
        t[f"{p}.intermediate.dense.weight"] = r(FFN, HIDDEN)
        t[f"{p}.intermediate.dense.bias"] = r(FFN)
        t[f"{p}.output.dense.weight"] = r(HIDDEN, FFN)
        t[f"{p}.output.dense.bias"] = r(HIDDEN)
        for norm in ("attention.output", "output"):
            t[f"{p}.{norm}.LayerNorm.weight"] = 1 + r(HIDDEN)
            t[f"{p}.{norm}.LayerNorm.bias"] = r(HIDDEN)
    folder.mkdir(parents=True, exist_ok=True)
    write_safetensors(folder / "model.safetensors", t)
    config = {"num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "layer_norm_eps": 1e-12}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")


def test_reader_round_trips_and_refuses_a_bad_range(tmp_path: Path) -> None:
    arrays: dict[str, np.ndarray] = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": np.arange(4, dtype=np.int64),
    }
    write_safetensors(tmp_path / "x.safetensors", arrays)
    read = read_safetensors(tmp_path / "x.safetensors")
    assert set(read) == {"a", "b"}
    for name, arr in arrays.items():
        assert read[name].dtype == arr.dtype and np.array_equal(read[name], arr)
    raw = (tmp_path / "x.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[:-8])
    with pytest.raises(ValueError, match="does not fit"):
        read_safetensors(tmp_path / "cut.safetensors")


def test_gelu_follows_erf() -> None:
    x = np.linspace(-12, 12, 4801, dtype=np.float32)
    exact = np.asarray([v / 2 * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(float)])
    assert np.abs(gelu(x.copy()) - exact).max() < 2e-6


def manual_forward(model: MiniLM, ids: list[int]) -> np.ndarray:
    """One sequence, one head at a time, in float64: the textbook BERT the encoder must match."""

    def ln(v: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        centred = v - v.mean(-1, keepdims=True)
        return np.asarray(centred / np.sqrt(v.var(-1, keepdims=True) + 1e-12) * w + b)

    x = model.words[ids] + model.positions[: len(ids)] + model.token_type[0]
    x = ln(x.astype(float), *model.norm)
    size = HIDDEN // HEADS
    for layer in model.layers:
        q, k, v = np.split(x @ layer.qkv + layer.qkv_bias, 3, axis=1)
        heads = []
        for h in range(HEADS):
            s = slice(h * size, (h + 1) * size)
            a = q[:, s] @ k[:, s].T / math.sqrt(size)
            a = np.exp(a - a.max(1, keepdims=True))
            heads.append(a / a.sum(1, keepdims=True) @ v[:, s])
        x = ln(np.hstack(heads) @ layer.out.T + layer.out_bias + x, *layer.norm1)
        up = x @ layer.up.T + layer.up_bias
        up = up / 2 * (1 + np.vectorize(math.erf)(up / math.sqrt(2)))
        x = ln(up @ layer.down.T + layer.down_bias + x, *layer.norm2)
    pooled = x.mean(0)
    return np.asarray(pooled / np.linalg.norm(pooled))


def test_encoder_matches_the_textbook_and_padding_changes_nothing(tmp_path: Path) -> None:
    tiny_model(tmp_path)
    model = MiniLM.load(tmp_path)
    seqs = [[2, 5, 6, 7, 3], [2, 9, 3], [2, 11, 12, 13, 14, 15, 16, 3]]
    together = model.encode(seqs)
    assert together.dtype == np.float32 and together.shape == (3, HIDDEN)
    for row, seq in enumerate(seqs):
        alone = model.encode([seq])[0]
        assert np.abs(alone - together[row]).max() < 1e-6
        assert np.abs(manual_forward(model, seq) - together[row]).max() < 1e-5
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-6)
