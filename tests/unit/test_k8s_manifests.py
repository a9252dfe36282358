"""deploy/k8s as Kubernetes and KubeRay will read it: every object valid against Kubernetes' own schemas
(kubernetes-validate, offline), the RayService's serveConfigV2 valid against Ray Serve's schema and building the real
gateway application, every Secret and ConfigMap referenced defined, images named consistently, the environment a
local Ray gets (serving.launcher.ray_environment) on every Ray pod."""

from __future__ import annotations

import copy
import importlib
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
KUBERNETES = "1.33"


def manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    docs = [d for f in kustomization["resources"] for d in yaml.safe_load_all((K8S / f).read_text(encoding="utf-8"))]
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    ), "a manifest file is not in kustomization.yaml"
    return [d for d in docs if d]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests() if m["kind"] == kind]


def rayservice() -> dict[str, Any]:
    (service,) = of_kind("RayService")
    return service


def ray_pod_templates() -> list[dict[str, Any]]:
    cluster = rayservice()["spec"]["rayClusterConfig"]
    return [cluster["headGroupSpec"]["template"]] + [g["template"] for g in cluster["workerGroupSpecs"]]


def pod_specs() -> list[dict[str, Any]]:
    templates = ray_pod_templates()
    templates += [m["spec"]["template"] for m in manifests() if m["kind"] in ("Deployment", "Job")]
    return [t["spec"] for t in templates]


def test_every_object_is_valid_against_the_kubernetes_schemas() -> None:
    from kubernetes_validate import validate

    checked = 0
    for manifest in manifests():
        if manifest["kind"] == "RayService":
            assert manifest["apiVersion"] == "ray.io/v1"
            continue
        validate(manifest, KUBERNETES, strict=True)
        checked += 1
    for template in ray_pod_templates():  # KubeRay's pod templates are plain Kubernetes pod templates
        validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "ray"}, "template": template},
                 KUBERNETES, strict=True)  # fmt: skip
    assert checked >= 10


def test_the_validator_refuses_a_wrong_field() -> None:
    from kubernetes_validate import validate
    from kubernetes_validate.utils import ValidationError

    (deployment,) = of_kind("Deployment")
    wrong = copy.deepcopy(deployment)
    wrong["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = ["Always"]
    with pytest.raises(ValidationError):
        validate(wrong, KUBERNETES, strict=True)


def test_the_serve_config_is_valid_and_builds_the_gateway() -> None:
    from ray.serve import Application
    from ray.serve.schema import ServeDeploySchema

    config = ServeDeploySchema.model_validate(yaml.safe_load(rayservice()["spec"]["serveConfigV2"]))
    (application,) = config.applications
    assert (application.import_path, application.route_prefix) == ("serving.deployments:app", "/")
    module, name = application.import_path.split(":")
    assert isinstance(getattr(importlib.import_module(module), name)(application.args), Application)
    assert config.http_options.host == "0.0.0.0" and config.http_options.port == 8100


def test_every_ray_pod_starts_with_the_local_rays_environment_and_token_auth() -> None:
    from serving.launcher import ray_environment

    (env,) = [m["data"] for m in of_kind("ConfigMap") if m["metadata"]["name"] == "citymind-env"]
    expected = ray_environment(8000) | {"RAY_AUTH_MODE": "token", "CITYMIND_HOST": "0.0.0.0", "CITYMIND_AUTH": "on"}
    assert {k: v for k, v in env.items() if k in expected} == expected
    for template in ray_pod_templates():
        (container,) = template["spec"]["containers"]
        sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
        assert {"citymind-env", "citymind-ray-token"} <= sources
        assert {"mountPath": "/etc/citymind", "name": "keys", "readOnly": True} in container["volumeMounts"]
        assert template["metadata"]["labels"]["app.kubernetes.io/part-of"] == "citymind"  # the NetworkPolicy's


def referenced(kind: str) -> set[str]:
    """Names of Secrets (or ConfigMaps) the pods use: envFrom, env valueFrom, volumes."""
    ref, key = ("secretRef", "secretKeyRef") if kind == "Secret" else ("configMapRef", "configMapKeyRef")
    names = set()
    for spec in pod_specs():
        for container in spec["containers"]:
            names |= {s[ref]["name"] for s in container.get("envFrom", []) if ref in s}
            names |= {e["valueFrom"][key]["name"] for e in container.get("env", []) if key in e.get("valueFrom", {})}
        for volume in spec.get("volumes", []):
            if kind == "Secret" and "secret" in volume:
                names.add(volume["secret"]["secretName"])
            if kind == "ConfigMap" and "configMap" in volume:
                names.add(volume["configMap"]["name"])
    return names


@pytest.mark.parametrize("kind", ["Secret", "ConfigMap"])
def test_every_referenced_secret_and_config_map_is_defined(kind: str) -> None:
    defined = {m["metadata"]["name"] for m in of_kind(kind)}
    used = referenced(kind)
    assert used and used <= defined, used - defined
    if kind == "Secret":
        assert {"citymind-api-keys", "citymind-ray-token"} <= used


def test_images_are_named_consistently_and_carry_the_package_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    images = {c["image"] for spec in pod_specs() for c in spec["containers"]}
    registries = {image.rsplit("/", 1)[0] for image in images}
    assert len(registries) == 1, registries
    assert {image.rsplit("/", 1)[1] for image in images} == {
        f"citymind:{version}",
        f"citymind-train:{version}",
        f"citymind-mlflow:{version}",
    }
    assert {c["image"] for t in ray_pod_templates() for c in t["spec"]["containers"]} == {
        f"{registries.pop()}/citymind:{version}"  # the gateway image: a serving install
    }
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    stages = {line.split()[-1] for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("FROM ")}
    for service in ("gateway", "train", "mlflow"):
        built = compose["services"][service]
        assert built["build"]["target"] in stages
        assert built["image"].split(":") == [f"citymind-{service}" if service != "gateway" else "citymind", version]


def test_the_compose_file_defines_every_secret_its_services_use() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    used = {s for service in compose["services"].values() for s in service.get("secrets", [])}
    assert used == set(compose["secrets"])
    mlflow = compose["services"]["mlflow"]["command"]
    assert "--app-name=basic-auth" in mlflow and "--serve-artifacts" in mlflow
    assert compose["services"]["gateway"]["environment"]["CITYMIND_TRACKING_URI"] == "http://mlflow:5000"
    assert all(p.startswith("127.0.0.1:") for s in compose["services"].values() for p in s.get("ports", []))
