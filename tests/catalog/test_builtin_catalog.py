"""The built-in catalog: it loads, ships with the package, and prices every model honestly."""

from __future__ import annotations

from importlib import resources

import pytest

from orchestratex.core.errors import UnknownModelError
from orchestratex.core.types import Domain, TokenUsage
from orchestratex.providers.catalog import Catalog, load_catalog
from orchestratex.providers.pricing import cost_of


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_catalog_yaml_ships_inside_the_package() -> None:
    resource = resources.files("orchestratex.providers").joinpath("catalog.yaml")
    assert resource.is_file()
    assert "providers:" in resource.read_text("utf-8")


def test_builtin_providers(catalog: Catalog) -> None:
    assert set(catalog.providers) == {
        "openai",
        "anthropic",
        "xai",
        "mistral",
        "dashscope",
        "groq",
        "together",
        "ollama",
        "vllm",
    }
    assert catalog.providers["anthropic"].protocol == "anthropic"
    assert catalog.providers["xai"].price_provider_id == "x-ai"
    assert str(catalog.providers["groq"].base_url) == "https://api.groq.com/openai/v1"
    assert catalog.providers["ollama"].api_key_env is None
    assert catalog.providers["vllm"].api_key_env is None
    for name, spec in catalog.providers.items():
        if spec.protocol == "openai" and name != "openai":
            assert spec.base_url is not None, name
        if spec.api_key_env is not None:
            assert spec.requests_per_minute is not None, name
            assert spec.tokens_per_minute is not None, name


def test_six_families_with_two_models_each(catalog: Catalog) -> None:
    families: dict[str, int] = {}
    for spec in catalog.models.values():
        families[spec.family] = families.get(spec.family, 0) + 1
    assert families == {"gpt": 2, "claude": 2, "grok": 2, "qwen": 2, "llama": 2, "mistral": 2}
    assert {m.provider for m in catalog.models.values() if m.family == "llama"} == {
        "groq",
        "together",
    }
    assert all(m.enabled for m in catalog.models.values())


def test_specialty_priors_cover_every_domain_within_bounds(catalog: Catalog) -> None:
    for spec in catalog.models.values():
        assert set(spec.specialties) == set(Domain), spec.key
        assert all(0.0 <= v <= 1.0 for v in spec.specialties.values()), spec.key
    assert catalog.get("claude-sonnet").specialty(Domain.CODING) > catalog.get(
        "mistral-small"
    ).specialty(Domain.CODING)


def test_every_price_comes_from_genai_prices_or_is_unknown(catalog: Catalog) -> None:
    for key in catalog.models:
        price = catalog.price(key)
        if price is None:
            continue
        assert price.source.startswith("genai-prices:"), key
        assert price.input_per_mtok > 0, key
        assert price.output_per_mtok > 0, key
    known = {k for k in catalog.models if catalog.price(k) is not None}
    assert known == set(catalog.models) - {"qwen-max", "qwen-plus"}


def test_unknown_price_is_reported_as_unknown_not_free(catalog: Catalog) -> None:
    usd, known = cost_of(catalog.price("qwen-max"), TokenUsage(input_tokens=10, output_tokens=10))
    assert (usd, known) == (0.0, False)
    usd, known = cost_of(
        catalog.price("gpt-4o"), TokenUsage(input_tokens=1_000_000, output_tokens=0)
    )
    assert known
    assert usd == pytest.approx(2.5)


def test_price_is_the_base_rate_not_a_long_context_tier(catalog: Catalog) -> None:
    price = catalog.price("claude-sonnet")
    assert price is not None
    assert (price.input_per_mtok, price.output_per_mtok) == (3.0, 15.0)


def test_unknown_key_names_the_known_ones(catalog: Catalog) -> None:
    with pytest.raises(UnknownModelError, match="gpt-4o"):
        catalog.get("no-such-model")


def test_configured_providers_follow_the_environment(catalog: Catalog) -> None:
    env = {"OPENAI_API_KEY": "x", "GROQ_API_KEY": ""}
    assert catalog.is_configured("openai", env)
    assert not catalog.is_configured("groq", env)
    assert catalog.is_configured("ollama", env)
    assert {m.provider for m in catalog.available(env)} == {"openai"}
