"""Settings refuse placeholder secrets outside development."""

import pytest
from pydantic import ValidationError

from services.credit.config import CreditSettings
from services.gateway.config import GatewaySettings

pytestmark = pytest.mark.backend_free


def test_development_accepts_defaults() -> None:
    assert CreditSettings(env="development").internal_secret.get_secret_value()


def test_production_refuses_placeholder() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        CreditSettings(env="production")


def test_production_accepts_real_secrets() -> None:
    s = CreditSettings(env="production", internal_secret="x" * 40, buyer_hash_key="y" * 40)
    assert s.env == "production"


def test_prefix_and_shared_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMEFIN_GATEWAY_PORT", "9100")
    monkeypatch.setenv("SMEFIN_ADMIN_KEY", "k" * 20)
    monkeypatch.setenv("SMEFIN_INTERNAL_SECRET", "shared-secret")
    s = GatewaySettings()
    assert s.port == 9100
    assert s.admin_key is not None and s.admin_key.get_secret_value() == "k" * 20
    assert s.internal_secret.get_secret_value() == "shared-secret"
