"""Each catalog test starts from a clean environment: no ORX_* settings, no provider keys."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

PROVIDER_KEY_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "XAI_API_KEY",
    "MISTRAL_API_KEY",
    "DASHSCOPE_API_KEY",
    "GROQ_API_KEY",
    "TOGETHER_API_KEY",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ORX_"):
            monkeypatch.delenv(name)
    for name in PROVIDER_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    # No stray .env file from the working directory.
    monkeypatch.chdir(tmp_path)


WriteConfig = Callable[[dict[str, object]], Path]


@pytest.fixture
def write_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> WriteConfig:
    """Write a YAML config file and point ORX_CONFIG at it."""

    def write(data: dict[str, object]) -> Path:
        path = tmp_path / "orchestratex.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        monkeypatch.setenv("ORX_CONFIG", str(path))
        return path

    return write
