"""Settings (env and YAML via ORX_CONFIG) change the catalog: prices, models, providers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.errors import ConfigurationError
from orchestratex.runtime.catalog_setup import catalog_from_settings
from orchestratex.runtime.settings import ProviderOverride, Settings, load_settings
from tests.catalog.conftest import WriteConfig

LOCAL_MODEL = {
    "key": "llama3.2-local",
    "family": "llama",
    "provider": "ollama",
    "model_id": "llama3.2:3b",
    "context_window": 131072,
    "tier": "small",
    "specialties": {"general": 0.5},
}


def test_price_override_in_settings_wins() -> None:
    settings = Settings(prices={"gpt-4o": Price(input_per_mtok=1.0, output_per_mtok=2.0)})
    catalog = catalog_from_settings(settings)
    assert catalog.price("gpt-4o") == Price(input_per_mtok=1.0, output_per_mtok=2.0)
    other = catalog.price("gpt-4o-mini")
    assert other is not None
    assert other.source.startswith("genai-prices:")


def test_price_override_from_yaml_prices_an_unknown_model(write_config: WriteConfig) -> None:
    write_config(
        {"prices": {"qwen-max": {"input_per_mtok": 1.6, "output_per_mtok": 6.4, "source": "list"}}}
    )
    catalog = catalog_from_settings(load_settings())
    assert catalog.price("qwen-max") == Price(
        input_per_mtok=1.6, output_per_mtok=6.4, source="list"
    )
    assert catalog.price("qwen-plus") is None


def test_price_for_unknown_model_fails() -> None:
    settings = Settings(prices={"gpt-9": Price(input_per_mtok=1.0, output_per_mtok=1.0)})
    with pytest.raises(ConfigurationError, match="gpt-9"):
        catalog_from_settings(settings)


def test_extra_model_from_yaml_appears(write_config: WriteConfig) -> None:
    write_config({"models": [LOCAL_MODEL]})
    catalog = catalog_from_settings(load_settings())
    spec = catalog.get("llama3.2-local")
    assert spec.provider == "ollama"
    assert spec.model_id == "llama3.2:3b"
    assert catalog.price("llama3.2-local") is None  # genai-prices has no ollama: flagged unknown
    assert "gpt-4o" in catalog.models  # built-ins stay


def test_model_with_its_own_price_is_priced(write_config: WriteConfig) -> None:
    write_config(
        {"models": [{**LOCAL_MODEL, "price": {"input_per_mtok": 0, "output_per_mtok": 0}}]}
    )
    catalog = catalog_from_settings(load_settings())
    assert catalog.price("llama3.2-local") == Price(input_per_mtok=0.0, output_per_mtok=0.0)


def test_model_replaced_by_key() -> None:
    replacement = ModelSpec(
        key="gpt-4o",
        family="gpt",
        provider="openai",
        model_id="gpt-4o-2024-11-20",
        context_window=128000,
    )
    catalog = catalog_from_settings(Settings(models=[replacement]))
    assert catalog.get("gpt-4o").model_id == "gpt-4o-2024-11-20"


def test_unknown_provider_reference_fails_clearly(write_config: WriteConfig) -> None:
    write_config({"models": [{**LOCAL_MODEL, "provider": "lmstudio"}]})
    with pytest.raises(ConfigurationError) as info:
        catalog_from_settings(load_settings())
    assert "llama3.2-local" in info.value.message
    assert "lmstudio" in info.value.message


def test_new_openai_compatible_provider(write_config: WriteConfig) -> None:
    write_config(
        {
            "providers": {
                "lmstudio": {
                    "base_url": "http://127.0.0.1:1234/v1",
                    "requests_per_minute": 20,
                }
            },
            "models": [{**LOCAL_MODEL, "provider": "lmstudio"}],
        }
    )
    catalog = catalog_from_settings(load_settings())
    provider = catalog.provider_for("llama3.2-local")
    assert provider.name == "lmstudio"
    assert provider.protocol == "openai"
    assert str(provider.base_url) == "http://127.0.0.1:1234/v1"
    assert catalog.is_configured("lmstudio", {})


def test_new_openai_compatible_provider_needs_a_base_url() -> None:
    settings = Settings(providers={"acme": ProviderOverride(api_key_env="ACME_API_KEY")})
    with pytest.raises(ConfigurationError, match="base_url"):
        catalog_from_settings(settings)


def test_bad_provider_field_names_the_provider() -> None:
    settings = Settings(providers={"ollama": ProviderOverride(protocol="grpc")})
    with pytest.raises(ConfigurationError, match="ollama") as info:
        catalog_from_settings(settings)
    assert "protocol" in info.value.message


def test_misspelt_provider_field_is_refused(write_config: WriteConfig) -> None:
    write_config({"providers": {"ollama": {"base-url": "http://127.0.0.1:9/v1"}}})
    with pytest.raises(ValidationError, match="base-url"):
        load_settings()


def test_provider_override_changes_only_given_fields() -> None:
    settings = Settings(providers={"openai": ProviderOverride(requests_per_minute=5000)})
    provider = catalog_from_settings(settings).providers["openai"]
    assert provider.requests_per_minute == 5000
    assert provider.tokens_per_minute == 200000
    assert provider.api_key_env == "OPENAI_API_KEY"


def test_disabled_models() -> None:
    catalog = catalog_from_settings(Settings(disabled_models=["grok-3-mini"]))
    assert not catalog.get("grok-3-mini").enabled
    assert "grok-3-mini" not in {m.key for m in catalog.enabled()}
    assert "grok-3" in {m.key for m in catalog.enabled()}
    env = {"XAI_API_KEY": "set"}
    assert [m.key for m in catalog.available(env)] == ["grok-3"]


def test_disabling_an_unknown_model_fails() -> None:
    with pytest.raises(ConfigurationError, match="gpt-9"):
        catalog_from_settings(Settings(disabled_models=["gpt-9"]))


def test_env_wins_over_yaml(monkeypatch: pytest.MonkeyPatch, write_config: WriteConfig) -> None:
    write_config(
        {
            "port": 8100,
            "log_level": "debug",
            "providers": {"openai": {"requests_per_minute": 10, "tokens_per_minute": 1000}},
        }
    )
    monkeypatch.setenv("ORX_PORT", "9000")
    monkeypatch.setenv("ORX_PROVIDERS__OPENAI__REQUESTS_PER_MINUTE", "20")
    settings = load_settings()
    assert settings.port == 9000
    assert settings.log_level == "DEBUG"  # from YAML, not overridden
    provider = catalog_from_settings(settings).providers["openai"]
    assert provider.requests_per_minute == 20  # env
    assert provider.tokens_per_minute == 1000  # YAML, merged with the env's change


def test_missing_config_file_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORX_CONFIG", "/nonexistent/orx.yaml")
    with pytest.raises(ConfigurationError, match="ORX_CONFIG"):
        load_settings()
