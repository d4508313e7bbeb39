"""The deployment files agree with the exporter and with each other.

Every manifest under deploy/ is parsed; ports, paths and file names are compared with the
exporter's own defaults (balance_exporter.cli) and the image (Dockerfile); the configurations they
carry are parsed by the exporter's config parser with their secret files in place; the
PrometheusRule holds exactly the groups of deploy/prometheus/alerts.yml. The kustomization (its
namespace, its ConfigMap generated from config.yml) and the sharded component
(deploy/kubernetes/sharded/) are built by a small kustomize of the features they use and checked
alike; where kubectl is installed, ``kubectl kustomize`` must build the same. Debian's
``docker-compose`` (Compose v1) checks the Compose file. No Docker engine or cluster is needed.

``python tests/test_deploy_manifests.py`` rewrites deploy/kubernetes/prometheusrule.yaml from
alerts.yml after a change to the rules.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import posixpath
import re
import shutil
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import no_reload, require_tool

from balance_exporter.cli import DEFAULT_LISTEN, parse_args, parse_listen_address
from balance_exporter.config.checker import Config, ConfigError, parse_config
from balance_exporter.config.sharding import Shard
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.web.server import build_app

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
SHARDED = KUBERNETES / "sharded"
COMPOSE = DEPLOY / "compose"
RULES = DEPLOY / "prometheus" / "alerts.yml"
PROMETHEUS_RULE = KUBERNETES / "prometheusrule.yaml"

PORT = parse_listen_address(DEFAULT_LISTEN)[1]
TELEMETRY_PATH = parse_args([]).telemetry_path
JOB = "balance-exporter"  # the job ExporterDown selects
REAL_ACCOUNTS = re.compile(
    r"^[ \t]*# >>> real accounts\n(.*?)^[ \t]*# <<< real accounts\n", re.M | re.S
)

PROMETHEUS_RULE_HEADER = """\
# The rules of deploy/prometheus/alerts.yml for the Prometheus Operator, group for group.
# Generated: after editing alerts.yml, run `python tests/test_deploy_manifests.py`
# (tests/test_deploy_manifests.py checks that both hold the same groups).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: balance-exporter
  labels:
    app.kubernetes.io/name: balance-exporter
spec:
"""


def render_prometheus_rule() -> str:
    """alerts.yml's groups, text and all, indented under the PrometheusRule's spec."""
    lines = RULES.read_text(encoding="utf-8").splitlines()
    start = lines.index("groups:")
    body = [f"  {line}" if line else "" for line in lines[start:]]
    return PROMETHEUS_RULE_HEADER + "\n".join(body) + "\n"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ the image


def dockerfile() -> dict[str, str]:
    """The last value of each instruction of the final stage, continuation lines joined."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    instructions: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            instructions[keyword.upper()] = rest.strip()
    return instructions


def image_config_path() -> str:
    """Where the image's CMD points --config.file: the containers mount the config there."""
    command = json.loads(dockerfile()["CMD"])
    config_file: str = parse_args(command).config_file
    return config_file


def image_user() -> int:
    return int(dockerfile()["USER"].split(":")[0])


def test_the_image_serves_the_default_port_and_reads_an_absolute_config_path() -> None:
    assert dockerfile()["EXPOSE"] == str(PORT)
    assert json.loads(dockerfile()["ENTRYPOINT"]) == ["balance-exporter"]
    assert image_config_path() == "/etc/balance-exporter/config.yml"
    assert image_user() != 0


def test_the_probed_paths_are_served_by_the_exporter() -> None:
    app = build_app(SnapshotStore(), reload=no_reload, telemetry_path=TELEMETRY_PATH)
    paths = {resource.canonical for resource in app.router.resources()}
    assert {"/-/healthy", "/-/ready", TELEMETRY_PATH} <= paths


# --------------------------------------------------------------------------- every file


def manifest_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def test_every_manifest_parses() -> None:
    files = manifest_files()
    names = {str(p.relative_to(DEPLOY)) for p in files}
    assert {
        "prometheus/alerts.yml",
        "prometheus/alerts.test.yml",
        "prometheus/prometheus.yml",
        "alertmanager/alertmanager.yml",
        "compose/docker-compose.yml",
        "compose/balance-exporter.yml",
        "kubernetes/kustomization.yaml",
        "kubernetes/config.yml",
        "kubernetes/namespace.yaml",
        "kubernetes/networkpolicy.yaml",
        "kubernetes/deployment.yaml",
        "kubernetes/service.yaml",
        "kubernetes/secret.example.yaml",
        "kubernetes/servicemonitor.yaml",
        "kubernetes/prometheusrule.yaml",
        "kubernetes/sharded/kustomization.yaml",
        "kubernetes/sharded/deployment-to-statefulset.yaml",
        "kubernetes/sharded/headless-service.yaml",
    } <= names
    for path in files:
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        assert documents, path
        if path.parent == KUBERNETES and path.suffix == ".yaml" and path.stem != "kustomization":
            for document in documents:
                assert {"apiVersion", "kind", "metadata"} <= set(document), path
                assert document["metadata"]["name"], path


# ---------------------------------------------------------------------------- Kubernetes


def kube_objects() -> dict[str, dict[str, Any]]:
    """Every object the kustomization builds, and the example Secret, by kind."""
    objects = kustomize(KUBERNETES)
    (secret,) = yaml.safe_load_all((KUBERNETES / "secret.example.yaml").read_text("utf-8"))
    assert secret["kind"] not in objects
    return {**objects, "Secret": secret}


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = kube_objects()["Deployment"]["spec"]["template"]["spec"]
    return spec


def pod_labels() -> dict[str, str]:
    labels: dict[str, str] = kube_objects()["Deployment"]["spec"]["template"]["metadata"]["labels"]
    return labels


def container() -> dict[str, Any]:
    (only,) = pod_spec()["containers"]
    result: dict[str, Any] = only
    return result


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    kustomization = load(KUBERNETES / "kustomization.yaml")
    listed = set(kustomization["resources"])
    files = {p.name for p in KUBERNETES.glob("*.yaml")}
    assert listed == files - {"kustomization.yaml", "secret.example.yaml"}
    # The image the Deployment names is the one `images:` lets the operator set.
    (written,) = load(KUBERNETES / "deployment.yaml")["spec"]["template"]["spec"]["containers"]
    assert [image["name"] for image in kustomization["images"]] == [written["image"]]
    assert set(kube_objects()) == {
        "Namespace",
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "Service",
        "ServiceMonitor",
        "PrometheusRule",
        "Secret",
    }


def test_deployment_runs_the_exporter_on_its_default_port_and_config_path() -> None:
    spec = container()
    args = parse_args(spec["args"])  # the flags exist and parse
    assert args.config_file == image_config_path()
    assert args.listen == [DEFAULT_LISTEN]
    assert args.telemetry_path == TELEMETRY_PATH
    assert spec["ports"] == [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]


def test_deployment_probes_health_and_readiness_on_the_named_port() -> None:
    spec = container()
    assert spec["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "http"}
    assert spec["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "http"}


def test_deployment_is_non_root_read_only_and_bounded() -> None:
    deployment = kube_objects()["Deployment"]
    pod = pod_spec()
    spec = container()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == image_user()
    assert spec["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    for kind in ("requests", "limits"):
        assert set(spec["resources"][kind]) == {"cpu", "memory"}
    # One poller: two would send every provider twice the requests.
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    labels = pod_labels()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def mounts() -> dict[str, tuple[str, dict[str, Any]]]:
    """Mount path and volume, by volume name."""
    volumes = {volume["name"]: volume for volume in pod_spec()["volumes"]}
    return {m["name"]: (m["mountPath"], volumes[m["name"]]) for m in container()["volumeMounts"]}


# Where a volume names the object it takes its files from: (volume key, name key), by kind.
VOLUME_SOURCES = {"ConfigMap": ("configMap", "name"), "Secret": ("secret", "secretName")}


def mount_of(kind: str) -> tuple[str, dict[str, Any]]:
    """Mount path and volume of the one mount holding the files of the ``kind`` object."""
    source, name_key = VOLUME_SOURCES[kind]
    name = kube_objects()[kind]["metadata"]["name"]
    matches = [
        (path, volume)
        for path, volume in mounts().values()
        if volume.get(source, {}).get(name_key) == name
    ]
    assert len(matches) == 1
    return matches[0]


def test_the_configmap_is_mounted_as_the_config_file() -> None:
    path, volume = mount_of("ConfigMap")
    (item,) = volume["configMap"]["items"]
    assert posixpath.join(path, item["path"]) == image_config_path()
    assert item["key"] in kube_objects()["ConfigMap"]["data"]


def secret_files(config_text: str) -> list[str]:
    """Every *_file value of a config, in order."""
    document = yaml.safe_load(config_text)
    return [
        value
        for account in document["accounts"]
        for key, value in account.items()
        if key.endswith("_file")
    ]


def parse_with_secret_files(
    text: str, mount: str, files: dict[str, str], tmp_path: Path, source: str
) -> Config:
    """Parse a config whose secret files live under ``mount``, with them written to tmp."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name, value in files.items():
        (secrets / name).write_text(f"{value}\n", encoding="utf-8")
    relocated, count = re.subn(
        rf"^(\s*-?\s*\w+_file: ){re.escape(mount)}/", rf"\g<1>{secrets}/", text, flags=re.M
    )
    assert count == len(secret_files(text))
    return parse_config(relocated, source, environ={}, base_dir=tmp_path / "elsewhere")


def test_the_configmap_config_parses_with_the_secret_files_in_place(tmp_path: Path) -> None:
    objects = kube_objects()
    mount, volume = mount_of("Secret")
    keys: dict[str, str] = objects["Secret"]["stringData"]
    assert volume["secret"]["defaultMode"] == 0o440  # readable through fsGroup
    assert pod_spec()["securityContext"]["fsGroup"] == image_user()

    (text,) = objects["ConfigMap"]["data"].values()
    references = secret_files(text)
    # Each reference names a file the Secret provides, and each key of the Secret is used.
    assert all(posixpath.dirname(ref) == mount for ref in references)
    assert sorted(posixpath.basename(ref) for ref in references) == sorted(keys)

    config = parse_with_secret_files(text, mount, keys, tmp_path, "config.yml")
    assert [a.provider for a in config.accounts] == [
        "telnyx",
        "twilio",
        "clickatell",
        "youcom",
        "23telecom",
    ]
    revealed = sorted(s.reveal() for a in config.accounts for s in a.secrets.values())
    assert revealed == sorted(keys.values())
    assert all(a.low_balance is not None for a in config.accounts)


def test_the_configmap_config_fails_without_the_secret_files(tmp_path: Path) -> None:
    """The check above means something: a missing key file is a config error."""
    objects = kube_objects()
    mount, _ = mount_of("Secret")
    keys = dict(objects["Secret"]["stringData"])
    keys.pop("twilio-auth-token")
    (text,) = objects["ConfigMap"]["data"].values()
    with pytest.raises(ConfigError, match="auth_token_file: cannot read"):
        parse_with_secret_files(text, mount, keys, tmp_path, "config.yml")


def test_service_exposes_the_named_metrics_port_of_the_pods() -> None:
    service = kube_objects()["Service"]
    assert service["metadata"]["name"] == JOB  # the job label of a ServiceMonitor's targets
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": PORT, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"].items() <= pod_labels().items()


def test_servicemonitor_scrapes_the_service_port_on_the_telemetry_path() -> None:
    objects = kube_objects()
    monitor = objects["ServiceMonitor"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == objects["Service"]["spec"]["ports"][0]["name"]
    assert endpoint["path"] == TELEMETRY_PATH
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= objects["Service"]["metadata"]["labels"].items()


def test_prometheusrule_holds_exactly_the_groups_of_alerts_yml() -> None:
    rule = kube_objects()["PrometheusRule"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    groups = load(RULES)["groups"]
    assert sum(len(group["rules"]) for group in groups) == 10
    assert rule["spec"]["groups"] == groups, (
        "deploy/kubernetes/prometheusrule.yaml differs from deploy/prometheus/alerts.yml: "
        "run `python tests/test_deploy_manifests.py`"
    )


def test_everything_lives_in_the_kustomizations_namespace() -> None:
    namespace = load(KUBERNETES / "kustomization.yaml")["namespace"]
    objects = kube_objects()
    assert objects["Namespace"]["metadata"]["name"] == namespace
    for kind, document in objects.items():
        if kind != "Namespace":
            assert document["metadata"]["namespace"] == namespace, kind
    assert objects["Secret"]["metadata"]["namespace"] == namespace  # applied by hand, alike


def test_the_config_map_is_generated_from_config_yml_and_named_by_its_content() -> None:
    kustomization = load(KUBERNETES / "kustomization.yaml")
    (generator,) = kustomization["configMapGenerator"]
    assert generator["files"] == ["config.yml"]
    config_map = kube_objects()["ConfigMap"]
    assert config_map["data"] == {"config.yml": (KUBERNETES / "config.yml").read_text("utf-8")}
    assert config_map["metadata"]["name"].startswith(f"{generator['name']}-")
    assert config_map["metadata"]["labels"].items() <= pod_labels().items()


def test_the_network_policy_lets_prometheus_in_and_the_polls_out() -> None:
    policy = kube_objects()["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels().items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    (ingress,) = policy["ingress"]
    (source,) = ingress["from"]
    assert set(source) == {"namespaceSelector", "podSelector"}  # Prometheus's pods, no others
    (port,) = ingress["ports"]
    (named,) = [p for p in container()["ports"] if p["name"] == port["port"]]
    assert (named["containerPort"], port["protocol"]) == (PORT, "TCP")
    allowed = {
        (port["port"], port["protocol"], "to" in rule)
        for rule in policy["egress"]
        for port in rule["ports"]
    }
    # DNS to the cluster's resolver only; HTTPS, where the providers are, to any address.
    assert allowed == {(53, "UDP", True), (53, "TCP", True), (443, "TCP", False)}


def kubernetes_copy(tmp_path: Path) -> Path:
    """A copy of deploy/kubernetes to build with kubectl, which the test skips without."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    folder = tmp_path / "kubernetes"
    shutil.copytree(KUBERNETES, folder)
    return folder


def kubectl_kustomize(folder: Path) -> dict[str, dict[str, Any]]:
    """What ``kubectl kustomize`` builds of ``folder``, by kind."""
    result = subprocess.run(  # noqa: S603 - kubectl, on a copy of our own files
        ["kubectl", "kustomize", str(folder)],  # noqa: S607 - found on PATH by kubernetes_copy
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {document["kind"]: document for document in yaml.safe_load_all(result.stdout)}


def test_kubectl_rolls_the_pod_when_config_yml_changes(tmp_path: Path) -> None:
    folder = kubernetes_copy(tmp_path)

    def built() -> tuple[str, dict[str, Any]]:
        objects = kubectl_kustomize(folder)
        template: dict[str, Any] = objects["Deployment"]["spec"]["template"]
        return objects["ConfigMap"]["metadata"]["name"], template

    name, template = built()
    config = folder / "config.yml"
    config.write_text(config.read_text("utf-8").replace("interval: 5m", "interval: 10m"), "utf-8")
    new_name, new_template = built()

    assert new_name != name
    assert new_template != template  # a new pod template: the Deployment replaces the pod
    volumes = {v["name"]: v for v in new_template["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == new_name


# ------------------------------------------------------------ Kubernetes, sharded


def json_patch(document: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902's add, replace and remove, which the sharded patches use, on a copy."""
    result = copy.deepcopy(document)
    for operation in operations:
        *parents, last = [
            part.replace("~1", "/").replace("~0", "~") for part in operation["path"][1:].split("/")
        ]
        node: Any = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        op = operation["op"]
        if isinstance(node, list):
            if op == "add":
                node.insert(len(node) if last == "-" else int(last), operation["value"])
                continue
            index = int(last)
            assert 0 <= index < len(node), operation
            if op == "remove":
                del node[index]
            else:
                assert op == "replace", operation
                node[index] = operation["value"]
            continue
        assert op == "add" or last in node, f"{operation}: nothing at the path"
        if op == "remove":
            del node[last]
        else:
            assert op in ("add", "replace"), operation
            node[last] = operation["value"]
    return result


def apply_component(folder: Path, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``objects`` with the JSON 6902 patches of the Component in ``folder`` applied."""
    component = load(folder / "kustomization.yaml")
    assert (component["apiVersion"], component["kind"]) == (
        "kustomize.config.k8s.io/v1alpha1",
        "Component",
    )
    assert set(component) == {"apiVersion", "kind", "patches"}  # all this kustomize knows
    result = list(objects)
    for patch in component["patches"]:
        target = patch["target"]
        (position,) = [
            i
            for i, o in enumerate(result)
            if (o["kind"], o["metadata"]["name"]) == (target["kind"], target["name"])
        ]
        patched = json_patch(result[position], load(folder / patch["path"]))
        if patched["kind"] != result[position]["kind"]:
            assert patch.get("options", {}).get("allowKindChange") is True, patch
        result[position] = patched
    return result


def generated_config_maps(folder: Path, kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    """The ConfigMaps of ``configMapGenerator``, named with a hash of their data as kustomize
    names them (its suffix is a hash of its own making: ``comparable`` blanks both)."""
    generated = []
    for generator in kustomization.get("configMapGenerator", []):
        assert set(generator) <= {"name", "files", "options"}, generator  # all this one knows
        assert set(generator.get("options", {})) <= {"labels"}, generator
        data = {
            posixpath.basename(name): (folder / name).read_text(encoding="utf-8")
            for name in generator["files"]
        }
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]
        metadata = {"name": f"{generator['name']}-{digest}"}
        if "labels" in generator.get("options", {}):
            metadata["labels"] = generator["options"]["labels"]
        generated.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata,
                "data": data,
                "_generated_from": generator["name"],
            }
        )
    return generated


def kustomize(folder: Path, components: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """What ``kubectl kustomize folder`` builds, by kind, with ``components`` enabled too."""
    kustomization = load(folder / "kustomization.yaml")
    objects = [
        document
        for name in kustomization["resources"]
        for document in yaml.safe_load_all((folder / name).read_text(encoding="utf-8"))
    ]
    generated = generated_config_maps(folder, kustomization)
    renamed = {cm.pop("_generated_from"): cm["metadata"]["name"] for cm in generated}
    objects += generated
    for document in objects:  # the pods' volumes name a generated ConfigMap by its new name
        pod = document.get("spec", {}).get("template", {}).get("spec", {})
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                name = volume["configMap"]["name"]
                volume["configMap"]["name"] = renamed.get(name, name)
    if "namespace" in kustomization:
        for document in objects:
            if document["kind"] != "Namespace":  # every other kind here is namespaced
                document["metadata"]["namespace"] = kustomization["namespace"]
    for component in [*kustomization.get("components", []), *components]:
        objects = apply_component(folder / component, objects)
    images = {image["name"]: image for image in kustomization.get("images", [])}
    for document in objects:
        pod = document.get("spec", {}).get("template", {}).get("spec", {})
        for each in pod.get("containers", []):
            if each["image"] in images:
                image = images[each["image"]]
                each["image"] = f"{image['newName']}:{image['newTag']}"
    by_kind = {document["kind"]: document for document in objects}
    assert len(by_kind) == len(objects), "two objects of one kind"
    return by_kind


def sharded() -> dict[str, dict[str, Any]]:
    return kustomize(KUBERNETES, ["sharded"])


def sharded_container() -> dict[str, Any]:
    (only,) = sharded()["StatefulSet"]["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = only
    return result


def enable_sharding(text: str) -> str:
    """The base kustomization as the README says to shard it: `components:` uncommented."""
    result, count = re.subn(r"^# (components:)\n#(   - sharded)$", r"\1\n\2", text, flags=re.M)
    assert count == 1
    return result


def test_sharded_component_holds_its_patches_and_targets_base_objects() -> None:
    component = load(SHARDED / "kustomization.yaml")
    paths = {patch["path"] for patch in component["patches"]}
    assert paths == {p.name for p in SHARDED.iterdir()} - {"kustomization.yaml"}
    base = kustomize(KUBERNETES)
    for patch in component["patches"]:
        target = patch["target"]
        assert base[target["kind"]]["metadata"]["name"] == target["name"], patch
        assert isinstance(load(SHARDED / patch["path"]), list)  # JSON 6902 operations
    enabled = yaml.safe_load(enable_sharding((KUBERNETES / "kustomization.yaml").read_text()))
    assert enabled["components"] == ["sharded"]
    assert {k: v for k, v in enabled.items() if k != "components"} == load(
        KUBERNETES / "kustomization.yaml"
    )


def test_sharded_replaces_the_deployment_by_a_statefulset_of_three_parallel_pods() -> None:
    base, objects = kustomize(KUBERNETES), sharded()
    assert set(objects) == set(base) - {"Deployment"} | {"StatefulSet"}
    statefulset, deployment = objects["StatefulSet"], base["Deployment"]
    assert statefulset["apiVersion"] == "apps/v1"
    assert statefulset["metadata"] == deployment["metadata"]
    spec = statefulset["spec"]
    assert spec["replicas"] == 3
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["serviceName"] == objects["Service"]["metadata"]["name"]
    assert "strategy" not in spec  # a Deployment's key; a StatefulSet refuses it
    assert spec["selector"] == deployment["spec"]["selector"]
    # The pods are the base's, but for the one flag: the image, mounts and limits stay in step.
    template = copy.deepcopy(spec["template"])
    template["spec"]["containers"][0]["args"].remove("--shard.count=3")
    assert template == deployment["spec"]["template"]


def test_each_sharded_pod_polls_the_share_its_hostname_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statefulset = sharded()["StatefulSet"]
    flags = sharded_container()["args"]
    assert not any(flag.startswith("--shard.index") for flag in flags)
    replicas, name = statefulset["spec"]["replicas"], statefulset["metadata"]["name"]
    shards = []
    for ordinal in range(replicas):
        # A StatefulSet's pod is called <name>-<ordinal>, and that is its hostname.
        monkeypatch.setattr(socket, "gethostname", lambda ordinal=ordinal: f"{name}-{ordinal}")
        args = parse_args(flags)
        assert args.config_file == image_config_path()
        shards.append(args.shard)
    assert shards == [Shard(replicas, ordinal) for ordinal in range(replicas)]


def test_each_sharded_pod_is_scraped_through_the_headless_service() -> None:
    objects = sharded()
    service = objects["Service"]
    assert service["spec"]["clusterIP"] == "None"  # the string Kubernetes reads, not null
    assert service["spec"]["ports"] == kustomize(KUBERNETES)["Service"]["spec"]["ports"]
    pod_labels = objects["StatefulSet"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (endpoint,) = objects["ServiceMonitor"]["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    selector = objects["ServiceMonitor"]["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()


@pytest.mark.parametrize("components", [(), ("sharded",)], ids=["base", "sharded"])
def test_kubectl_kustomize_builds_what_these_tests_check(
    tmp_path: Path, components: tuple[str, ...]
) -> None:
    folder = kubernetes_copy(tmp_path)  # a cross-check of kustomize(), which the others use
    if components:
        text = (folder / "kustomization.yaml").read_text(encoding="utf-8")
        (folder / "kustomization.yaml").write_text(enable_sharding(text), encoding="utf-8")
    objects = kubectl_kustomize(folder)
    assert comparable(objects) == comparable(kustomize(KUBERNETES, components))


def comparable(objects: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``objects`` with the hash suffix of the generated ConfigMap's name blanked, wherever
    the name appears."""
    name = objects["ConfigMap"]["metadata"]["name"]
    assert re.fullmatch(r"balance-exporter-config-[0-9a-z]{10}", name), name
    text = json.dumps(objects).replace(name, "balance-exporter-config-<hash>")
    result: dict[str, dict[str, Any]] = json.loads(text)
    return result


# ------------------------------------------------------------------------------- compose


def compose_text() -> str:
    return (COMPOSE / "docker-compose.yml").read_text(encoding="utf-8")


def uncomment_real_accounts(text: str) -> str:
    """The compose file as the operator makes it for real accounts: demo command deleted,
    the lines between the markers uncommented."""
    assert text.count('    command: ["--demo"]\n') == 1
    text = text.replace('    command: ["--demo"]\n', "")

    def uncomment(match: re.Match[str]) -> str:
        return re.sub(r"^([ \t]*)# ?", r"\1", match.group(1), flags=re.M)

    result, count = REAL_ACCOUNTS.subn(uncomment, text)
    assert count == 2  # the exporter's lines and the top-level secrets
    return result


def volume_map(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to deploy/compose/), read-only mounts only."""
    result = {}
    for volume in service.get("volumes", []):
        host, container_path, *mode = volume.split(":")
        if host.startswith("."):
            assert mode == ["ro"], volume
            result[container_path] = host
    return result


def flag(command: list[str], name: str) -> str:
    (value,) = [arg.split("=", 1)[1] for arg in command if arg.startswith(f"{name}=")]
    return value


def test_compose_exporter_is_built_from_the_repository_and_runs_the_demo() -> None:
    compose = yaml.safe_load(compose_text())
    assert set(compose["services"]) == {"exporter", "prometheus", "alertmanager", "grafana"}
    exporter = compose["services"]["exporter"]
    assert (COMPOSE / exporter["build"]["context"]).resolve() == REPO
    assert (REPO / exporter["build"]["dockerfile"]).is_file()
    assert exporter["command"] == ["--demo"]
    assert parse_args(exporter["command"]).demo is True
    assert exporter["ports"] == [f"127.0.0.1:{PORT}:{PORT}"]
    assert exporter["read_only"] is True
    assert "secrets" not in compose  # the demo needs none
    assert "volumes" not in exporter


def test_compose_real_accounts_variant_uses_the_config_file_and_secret_files(
    tmp_path: Path,
) -> None:
    compose = yaml.safe_load(uncomment_real_accounts(compose_text()))
    exporter = compose["services"]["exporter"]
    args = parse_args(exporter["command"])
    assert args.demo is False
    assert args.config_file == image_config_path()
    host_config = volume_map(exporter)[args.config_file]
    assert host_config == "./balance-exporter.yml"

    # Every secret the service mounts is a file under ./secrets/, at /run/secrets/<name>.
    declared = compose["secrets"]
    assert sorted(exporter["secrets"]) == sorted(declared)
    assert all(spec == {"file": f"./secrets/{name}"} for name, spec in declared.items())

    text = (COMPOSE / host_config).read_text(encoding="utf-8")
    references = secret_files(text)
    assert sorted(references) == sorted(f"/run/secrets/{name}" for name in declared)
    values = {name: f"canary-{name}-value" for name in declared}
    config = parse_with_secret_files(text, "/run/secrets", values, tmp_path, host_config)
    assert len(config.accounts) == 5
    revealed = sorted(s.reveal() for a in config.accounts for s in a.secrets.values())
    assert revealed == sorted(values.values())


def test_compose_prometheus_scrapes_the_exporter_and_loads_the_rules() -> None:
    compose = yaml.safe_load(compose_text())
    prometheus = compose["services"]["prometheus"]
    mounted = volume_map(prometheus)
    config_path = flag(prometheus["command"], "--config.file")
    assert mounted[config_path] == "../prometheus/prometheus.yml"
    config = load(COMPOSE / mounted[config_path])

    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == JOB]
    assert job["metrics_path"] == TELEMETRY_PATH
    assert job["static_configs"] == [{"targets": [f"exporter:{PORT}"]}]
    assert "exporter" in compose["services"]

    # Each rule file, resolved as Prometheus does (next to its config), is the mounted alerts.yml.
    rule_paths = [posixpath.join(posixpath.dirname(config_path), f) for f in config["rule_files"]]
    assert [mounted[path] for path in rule_paths] == ["../prometheus/alerts.yml"]
    assert (COMPOSE / "../prometheus/alerts.yml").resolve() == RULES

    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"] == [{"targets": ["alertmanager:9093"]}]


def test_compose_alertmanager_and_grafana_get_their_files() -> None:
    compose = yaml.safe_load(compose_text())
    alertmanager = compose["services"]["alertmanager"]
    config_path = flag(alertmanager["command"], "--config.file")
    assert volume_map(alertmanager)[config_path] == "../alertmanager/alertmanager.yml"
    assert (COMPOSE / "../alertmanager/alertmanager.yml").is_file()

    grafana = volume_map(compose["services"]["grafana"])
    assert grafana["/etc/grafana/provisioning"] == "../grafana/provisioning"
    assert grafana["/var/lib/grafana/dashboards"] == "../grafana/dashboards"


def test_compose_grafana_provisioning_points_at_the_stack() -> None:
    """The provisioned datasource is the compose Prometheus; dashboards load from the mount."""
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasources = [
        source
        for path in sorted((provisioning / "datasources").glob("*.y*ml"))
        for source in load(path).get("datasources", [])
    ]
    assert [s["url"] for s in datasources if s["type"] == "prometheus"] == [
        "http://prometheus:9090"
    ]
    providers = [
        provider
        for path in sorted((provisioning / "dashboards").glob("*.y*ml"))
        for provider in load(path).get("providers", [])
    ]
    assert [p["options"]["path"] for p in providers] == ["/var/lib/grafana/dashboards"]
    assert list((DEPLOY / "grafana" / "dashboards").glob("*.json"))


COMPOSE_ENV_EXAMPLE = COMPOSE / ".env.example"
HEALTHY = {"condition": "service_healthy"}
# The Compose file's dependencies: each service starts once these pass their healthcheck.
COMPOSE_DEPENDS_ON = {"prometheus": {"exporter", "alertmanager"}, "grafana": {"prometheus"}}
GRAFANA_PASSWORD = re.compile(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}")


def env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines, as Compose reads an env file (comments and blank lines skipped)."""
    pairs = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    return {key: value for key, value in pairs}


def image_healthcheck() -> list[str]:
    """The Dockerfile's HEALTHCHECK as a Compose ``test``: its options dropped."""
    _, _, command = dockerfile()["HEALTHCHECK"].partition(" CMD ")
    return ["CMD", *json.loads(command)]


def test_compose_has_neither_version_nor_name_which_compose_v1_or_v2_refuse() -> None:
    compose = yaml.safe_load(compose_text())
    assert not {"version", "name"} & set(compose)  # v1 1.29 refuses name:, v2 warns on version:
    assert env_file(COMPOSE_ENV_EXAMPLE.read_text(encoding="utf-8"))["COMPOSE_PROJECT_NAME"] == (
        "balance-exporter"
    )


def test_compose_services_have_healthchecks_and_start_after_theirs_are_healthy() -> None:
    services = yaml.safe_load(compose_text())["services"]
    for name, service in services.items():
        check = service["healthcheck"]
        assert check["test"][0] == "CMD", name  # no shell: the images have none to rely on
        assert {"interval", "timeout", "retries", "start_period"} <= set(check), name
        depends = service.get("depends_on", {})
        assert set(depends) == COMPOSE_DEPENDS_ON.get(name, set()), name
        assert all(condition == HEALTHY for condition in depends.values()), name
    # The busybox-based images are checked with their wget, on their own readiness paths.
    for name, url in (
        ("prometheus", "http://127.0.0.1:9090/-/ready"),
        ("alertmanager", "http://127.0.0.1:9093/-/ready"),
        ("grafana", "http://127.0.0.1:3000/api/health"),
    ):
        assert services[name]["healthcheck"]["test"] == [
            "CMD",
            "wget",
            "-q",
            "-O",
            "/dev/null",
            url,
        ]


def test_compose_checks_the_exporter_with_the_images_own_healthcheck() -> None:
    exporter = yaml.safe_load(compose_text())["services"]["exporter"]
    assert exporter["healthcheck"]["test"] == image_healthcheck()
    # It reads the URL the image sets: the exporter's /-/healthy on its default port.
    env = dict(item.split("=", 1) for item in dockerfile()["ENV"].split())
    assert env["BALANCE_EXPORTER_HEALTHCHECK_URL"] == f"http://127.0.0.1:{PORT}/-/healthy"


def test_compose_grafana_admin_password_comes_from_the_env_file_without_a_default() -> None:
    grafana = yaml.safe_load(compose_text())["services"]["grafana"]
    assert GRAFANA_PASSWORD.fullmatch(grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"])
    assert env_file(COMPOSE_ENV_EXAMPLE.read_text(encoding="utf-8"))["GRAFANA_ADMIN_PASSWORD"] == ""
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "**/.env" in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()


def docker_compose_config(
    tmp_path: Path, compose_file: Path, password: str
) -> subprocess.CompletedProcess[str]:
    """``docker-compose config`` (Compose v1, Debian's) of the file, with .env.example as the
    env file and ``password`` in it: the configuration it would run, or its complaint."""
    tool = require_tool("docker-compose", "docker-compose")
    example = COMPOSE_ENV_EXAMPLE.read_text(encoding="utf-8")
    env = tmp_path / ".env"
    env.write_text(
        example.replace("GRAFANA_ADMIN_PASSWORD=\n", f"GRAFANA_ADMIN_PASSWORD={password}\n"),
        encoding="utf-8",
    )
    outside = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COMPOSE_", "DOCKER_", "GRAFANA_"))
    }
    return subprocess.run(  # noqa: S603 - docker-compose, reading our own files
        [tool, "--project-directory", COMPOSE, "--env-file", env, "-f", compose_file, "config"],
        capture_output=True,
        text=True,
        timeout=60,
        env=outside,
        check=False,
    )


@pytest.mark.parametrize("variant", ["demo", "real-accounts"])
def test_compose_v1_accepts_the_file(tmp_path: Path, variant: str) -> None:
    compose_file = COMPOSE / "docker-compose.yml"
    if variant == "real-accounts":
        compose_file = tmp_path / "docker-compose.yml"
        compose_file.write_text(uncomment_real_accounts(compose_text()), encoding="utf-8")
    result = docker_compose_config(tmp_path, compose_file, "canary-grafana-password")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == (
        "canary-grafana-password"
    )
    for name, dependencies in COMPOSE_DEPENDS_ON.items():
        assert services[name]["depends_on"] == dict.fromkeys(dependencies, HEALTHY), name


def test_compose_v1_refuses_to_start_without_a_grafana_password(tmp_path: Path) -> None:
    result = docker_compose_config(tmp_path, COMPOSE / "docker-compose.yml", "")
    assert result.returncode != 0
    assert "set GRAFANA_ADMIN_PASSWORD in deploy/compose/.env" in result.stderr


def test_no_manifest_holds_a_real_looking_secret() -> None:
    """Examples only: the Secret's values say what to put there, the configs use files."""
    for value in kube_objects()["Secret"]["stringData"].values():
        assert value.startswith("replace-with-")
    for path in (COMPOSE / "balance-exporter.yml", KUBERNETES / "config.yml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for account in document["accounts"]:
            assert not {"api_key", "auth_token", "api_key_secret"} & set(account), path


if __name__ == "__main__":
    PROMETHEUS_RULE.write_text(render_prometheus_rule(), encoding="utf-8")
    print(f"wrote {PROMETHEUS_RULE.relative_to(REPO)}")
