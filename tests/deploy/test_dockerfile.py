"""The image, checked statically (no Docker engine here): stages, user, health, pins."""

from __future__ import annotations

import json
import re

from tests.deploy.conftest import DEPLOY, ROOT
from tests.deploy.dockerfile import instructions, stages

DOCKERFILE = DEPLOY / "Dockerfile"
PINNED_TAG = re.compile(r"^[a-z0-9./-]+:(\d+\.\d+\.\d+)[\w.-]*(@sha256:[0-9a-f]{64})?$")


def test_parses_into_a_build_and_a_runtime_stage() -> None:
    _, parsed = stages(DOCKERFILE)
    assert len(parsed) >= 2, "multi-stage: the runtime image must not carry the build"
    names = [s.name for s in parsed]
    assert names[0] == "build" and names[-1] == "runtime"
    runtime = parsed[-1]
    copies = runtime.all("COPY")
    assert copies and all(c.startswith("--from=build ") for c in copies), copies


def test_base_images_are_pinned_by_full_version() -> None:
    _, parsed = stages(DOCKERFILE)
    for stage in parsed:
        assert PINNED_TAG.match(stage.image), f"{stage.image} is not pinned to a version tag"


def test_dependencies_install_from_the_pinned_constraints() -> None:
    build = stages(DOCKERFILE)[1][0]
    installs = [r for r in build.all("RUN") if "pip install" in r and "-c constraints.txt" in r]
    assert installs, "pip install must use -c constraints.txt"
    assert any("constraints.txt" in c for c in build.all("COPY"))
    assert (ROOT / "constraints.txt").exists()


def test_runs_as_a_numeric_non_root_user() -> None:
    runtime = stages(DOCKERFILE)[1][-1]
    users = runtime.all("USER")
    assert users, "no USER: the container would run as root"
    for user in users:
        uid = user.split(":")[0]
        assert uid.isdigit() and int(uid) != 0, "USER must be numeric (runAsNonRoot checks it)"


def test_has_a_healthcheck_on_healthz_and_runs_a_service_with_exec() -> None:
    runtime = stages(DOCKERFILE)[1][-1]
    (health,) = runtime.all("HEALTHCHECK")
    assert "/healthz" in health and "CMD" in health
    (cmd,) = runtime.all("CMD")
    argv = json.loads(cmd)
    assert argv[:2] == ["sh", "-c"] and argv[2].startswith("exec uvicorn ")
    assert "--factory" in argv[2] and "services.${SMEFIN_SERVICE}.app:create_app" in argv[2]
    env = " ".join(runtime.all("ENV"))
    assert "SMEFIN_ENV=production" in env, "the image must refuse placeholder secrets"


def test_no_secret_is_baked_into_the_image() -> None:
    for keyword, args in instructions(DOCKERFILE.read_text()):
        if keyword in {"ENV", "ARG"}:
            for name in ("INTERNAL_SECRET", "ADMIN_KEY", "BUYER_HASH_KEY", "DATABASE_URL"):
                assert name not in args, f"{keyword} {args} sets a secret"


def test_the_build_context_excludes_local_state() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert "**" in ignore, "the context starts empty and lists what the build needs"
    for needed in ("!pyproject.toml", "!constraints.txt", "!shared/**", "!services/**"):
        assert needed in ignore
