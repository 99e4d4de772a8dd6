"""Secrets come only from the environment, and production refuses to start with placeholders."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings

from services.cli.stack import APPS, free_port
from shared.settings import PLACEHOLDER_SECRETS
from tests.deploy.env_names import SECRET_ENV, SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def secret_env_name(cls: type[BaseSettings], field_name: str) -> str:
    """The environment variable a secret field is read from."""
    alias = cls.model_fields[field_name].validation_alias
    choices = [c for c in getattr(alias, "choices", []) if isinstance(c, str) and c.isupper()]
    if choices:
        return choices[0]
    return f"{cls.model_config.get('env_prefix', '')}{field_name}".upper()


def secret_fields(cls: type[BaseSettings]) -> list[str]:
    """Names of the SecretStr fields of a settings class."""
    return [
        name
        for name, info in cls.model_fields.items()
        if info.annotation is SecretStr or "SecretStr" in str(info.annotation)
    ]


def clean_env() -> dict[str, str]:
    """This process's environment without any SMEFIN_ variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SMEFIN_")}


def real_secrets() -> dict[str, str]:
    """A real value for every secret of every service."""
    return {
        secret_env_name(cls, name): secrets.token_urlsafe(32)
        for cls in SETTINGS
        for name in secret_fields(cls)
    }


@pytest.mark.parametrize("cls", SETTINGS, ids=lambda c: c.__name__)
def test_no_settings_file_is_read(cls: type[BaseSettings]) -> None:
    for source in ("env_file", "secrets_dir", "toml_file", "yaml_file", "json_file"):
        assert not cls.model_config.get(source), f"{cls.__name__} reads {source}"


@pytest.mark.parametrize("cls", SETTINGS, ids=lambda c: c.__name__)
def test_every_secret_default_is_a_placeholder_or_nothing(cls: type[BaseSettings]) -> None:
    names = secret_fields(cls)
    assert "internal_secret" in names
    for name in names:
        default = cls.model_fields[name].default
        value = default.get_secret_value() if isinstance(default, SecretStr) else default
        assert value is None or value in PLACEHOLDER_SECRETS, f"{cls.__name__}.{name}"
        # The deploy manifests must treat it as a secret (Secret refs, never a ConfigMap).
        assert secret_env_name(cls, name) in SECRET_ENV, secret_env_name(cls, name)


@pytest.mark.parametrize("cls", SETTINGS, ids=lambda c: c.__name__)
def test_secrets_are_read_from_the_environment(
    cls: type[BaseSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    values = real_secrets()
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SMEFIN_ENV", "production")
    settings = cls()
    for name in secret_fields(cls):
        got = getattr(settings, name)
        assert got.get_secret_value() == values[secret_env_name(cls, name)]
        assert values[secret_env_name(cls, name)] not in repr(settings)


@pytest.mark.parametrize("cls", SETTINGS, ids=lambda c: c.__name__)
def test_production_refuses_each_placeholder(
    cls: type[BaseSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMEFIN_ENV", "production")
    for name in secret_fields(cls):
        for placeholder in ("change-me", cls.model_fields[name].default):
            values = real_secrets()
            env_name = secret_env_name(cls, name)
            if isinstance(placeholder, SecretStr):
                values[env_name] = placeholder.get_secret_value()
            elif placeholder is None:
                continue
            else:
                values[env_name] = placeholder
            for key, value in values.items():
                monkeypatch.setenv(key, value)
            with pytest.raises(ValidationError, match="placeholder"):
                cls()


@pytest.mark.parametrize("service", sorted(APPS))
def test_a_production_process_with_default_secrets_does_not_start(
    service: str, tmp_path: Path
) -> None:
    """uvicorn exits instead of serving when SMEFIN_ENV=production and secrets are defaults."""
    env = clean_env()
    env.update(
        SMEFIN_ENV="production",
        **{f"SMEFIN_{service.upper()}_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
    )
    cmd = [sys.executable, "-m", "uvicorn", APPS[service], "--factory", "--host", "127.0.0.1"]
    result = subprocess.run(
        [*cmd, "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "placeholder" in output, output[-2000:]
    assert "Application startup complete" not in output
