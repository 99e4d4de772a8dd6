"""Every kustomization renders, validates against the Kubernetes schemas and runs safely."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.conftest import K8S, KUSTOMIZATIONS, SERVICES, by_kind
from tests.deploy.env_names import SECRET_ENV, known_env_names

pytestmark = pytest.mark.backend_free

# The oldest Kubernetes minor we support; kubernetes-validate ships its schemas offline.
KUBERNETES_VERSIONS = ("1.30", "1.32")
NAMES = [str(p.relative_to(K8S)) for p in KUSTOMIZATIONS]


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Containers of a Deployment or Job."""
    return obj["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A container's env entries by name."""
    return {e["name"]: e for e in container.get("env", [])}


def test_there_is_a_production_overlay() -> None:
    assert "overlays/production" in NAMES


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_schemas(
    rendered: dict[str, list[dict[str, Any]]], name: str, version: str
) -> None:
    objects = rendered[name]
    assert objects, f"{name} rendered nothing"
    for obj in objects:
        label = f"{name}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{label} is invalid for Kubernetes {version}: {exc.message}")


@pytest.mark.parametrize("name", NAMES)
def test_each_service_has_deployment_service_autoscaler_and_budget(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    objects = rendered[name]
    deployments, services = by_kind(objects, "Deployment"), by_kind(objects, "Service")
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    pdbs = by_kind(objects, "PodDisruptionBudget")
    assert set(deployments) == set(SERVICES)
    for svc, port in SERVICES.items():
        pod_labels = deployments[svc]["spec"]["template"]["metadata"]["labels"]
        selector = services[svc]["spec"]["selector"]
        assert selector.items() <= pod_labels.items(), f"Service {svc} selects no pod"
        assert services[svc]["spec"]["ports"][0]["port"] == port
        target = hpas[svc]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", svc)
        assert 2 <= hpas[svc]["spec"]["minReplicas"] <= hpas[svc]["spec"]["maxReplicas"]
        assert hpas[svc]["spec"]["metrics"], f"HPA {svc} scales on nothing"
        assert pdbs[svc]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


@pytest.mark.parametrize("name", NAMES)
def test_containers_are_probed_limited_and_unprivileged(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    for svc, obj in by_kind(rendered[name], "Deployment").items():
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod.get("automountServiceAccountToken") is False
        (container,) = containers(obj)
        port = SERVICES[svc]
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert env_of(container)["SMEFIN_SERVICE"]["value"] == svc
        assert env_of(container)["SMEFIN_PORT"]["value"] == str(port)
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{svc} {bound}"
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("name", NAMES)
def test_secrets_come_from_secret_refs_and_config_from_the_configmap(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    objects = rendered[name]
    configmaps = by_kind(objects, "ConfigMap")
    known = known_env_names()
    workloads = [*by_kind(objects, "Deployment").values(), *by_kind(objects, "Job").values()]
    for obj in workloads:
        for container in containers(obj):
            for ref in container.get("envFrom", []):
                cm = configmaps[ref["configMapRef"]["name"]]
                assert not set(cm["data"]) & SECRET_ENV, "a secret in a ConfigMap"
                assert set(cm["data"]) <= known, set(cm["data"]) - known
                assert cm["data"]["SMEFIN_ENV"] == "production"
            for env_name, entry in env_of(container).items():
                assert env_name in known, f"{env_name} is read by no service"
                if env_name in SECRET_ENV:
                    assert "value" not in entry, f"{env_name} written in a manifest"
                    assert entry["valueFrom"]["secretKeyRef"]["name"] == "smefin-secrets"
    assert not by_kind(objects, "Secret"), "secrets are created out of band, never rendered"


@pytest.mark.parametrize("name", NAMES)
def test_each_service_gets_only_its_own_database(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    for svc, obj in by_kind(rendered[name], "Deployment").items():
        names = set(env_of(containers(obj)[0]))
        databases = {n for n in names if n.endswith("_DATABASE_URL")}
        assert databases == {f"SMEFIN_{svc.upper()}_DATABASE_URL"}
    gateway = containers(by_kind(rendered[name], "Deployment")["gateway"])[0]
    assert "SMEFIN_ADMIN_KEY" in env_of(gateway)


@pytest.mark.parametrize("name", NAMES)
def test_migration_job_migrates_every_database(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    job = by_kind(rendered[name], "Job")["smefin-migrate"]
    (container,) = containers(job)
    assert container["command"] == ["smefin", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert {f"SMEFIN_{s.upper()}_DATABASE_URL" for s in SERVICES} <= set(env_of(container))
    assert (
        container["image"]
        == containers(by_kind(rendered[name], "Deployment")["credit"])[0]["image"]
    ), "migrations must come from the release being deployed"


@pytest.mark.parametrize("name", NAMES)
def test_images_are_pinned_by_tag(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    for kind in ("Deployment", "Job"):
        for obj in by_kind(rendered[name], kind).values():
            for container in containers(obj):
                image = container["image"]
                tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
                assert tag and tag != "latest", f"{image} is not pinned"


@pytest.mark.parametrize("name", NAMES)
def test_ingress_exposes_only_the_gateway_api(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    (ingress,) = by_kind(rendered[name], "Ingress").values()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["name"] == "gateway"
            assert path["path"] in {"/v1", "/docs", "/openapi.json"}, path["path"]


def test_production_runs_three_replicas_in_its_namespace_with_tls(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["overlays/production"]
    namespaced = [o for o in objects if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {"smefin"}
    for svc in SERVICES:
        assert by_kind(objects, "Deployment")[svc]["spec"]["replicas"] >= 3
        assert by_kind(objects, "HorizontalPodAutoscaler")[svc]["spec"]["minReplicas"] >= 3
    (ingress,) = by_kind(objects, "Ingress").values()
    hosts = {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
    assert {r["host"] for r in ingress["spec"]["rules"]} <= hosts
