"""docs/configuration.md stays true: its YAML example loads, and it names every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestratex.runtime.catalog_setup import catalog_from_settings
from orchestratex.runtime.settings import Settings, load_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text("utf-8"), flags=re.DOTALL)


def test_yaml_example_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocks = _yaml_blocks()
    assert blocks
    for block in blocks:
        path = tmp_path / "orchestratex.yaml"
        path.write_text(block, encoding="utf-8")
        monkeypatch.setenv("ORX_CONFIG", str(path))
        catalog = catalog_from_settings(load_settings())
        assert {"llama3.2-local", "qwen2.5-7b-vllm", "phi-4-lmstudio"} <= set(catalog.models)
        assert catalog.price("qwen-max") is not None
        assert catalog.price("qwen2.5-7b-vllm") is None
        assert not catalog.get("grok-3-mini").enabled


def test_every_setting_is_documented() -> None:
    text = DOC.read_text("utf-8")
    missing = [
        name
        for name in Settings.model_fields
        if f"`{name}`" not in text or f"ORX_{name.upper()}" not in text
    ]
    assert missing == []
