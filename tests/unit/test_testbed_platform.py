"""The local stand-ins the system tests run the platform with: each does what the cluster's
part does (External Secrets, the kubelet's environment, the server's volume) or refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contract.nats import DEFAULT_URL
from scripts.nats_config import render
from testbed.deployment import (
    DeploymentError,
    container_env,
    on_this_machine,
    pod_name_variables,
)
from testbed.external_secrets import (
    ExternalSecretError,
    ParameterStore,
    random_password,
    resolve,
)
from testbed.platform_nats import STORE_DIR_LINE, with_store_dir
from testbed.servers import ServerError


def _external_secret(**spec: Any) -> dict[str, Any]:
    return {
        "kind": "ExternalSecret",
        "metadata": {"name": "creds", "namespace": "tenant-a"},
        "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "x"}, **spec},
    }


def test_random_passwords_are_letters_and_digits_starting_with_a_letter() -> None:
    for _ in range(200):
        password = random_password()
        assert password.isalnum() and password.isascii() and password[0].isalpha()


def test_a_template_writes_the_user_and_the_password_from_the_parameter() -> None:
    store = ParameterStore({"/p/worker-g1": "s3cret"})
    made = resolve(
        _external_secret(
            target={
                "name": "nats-credentials",
                "template": {
                    "engineVersion": "v2",
                    "data": {"NATS_USER": "tenant-a-worker-g1", "NATS_PASSWORD": "{{ .password }}"},
                },
            },
            data=[{"secretKey": "password", "remoteRef": {"key": "/p/worker-g1"}}],
        ),
        store,
    )
    assert (made.namespace, made.name) == ("tenant-a", "nats-credentials")
    # the template's keys only (External Secrets' default mergePolicy: Replace)
    assert made.data == {"NATS_USER": "tenant-a-worker-g1", "NATS_PASSWORD": "s3cret"}


def test_without_a_template_each_secret_key_holds_its_parameter() -> None:
    store = ParameterStore({"/k": "sk-1"})
    made = resolve(
        _external_secret(data=[{"secretKey": "OPENAI_API_KEY", "remoteRef": {"key": "/k"}}]), store
    )
    assert (made.name, made.data) == ("creds", {"OPENAI_API_KEY": "sk-1"})


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (
            {"data": [{"secretKey": "a", "remoteRef": {"key": "/missing"}}]},
            "parameter /missing does not exist",
        ),
        ({"dataFrom": [{"extract": {"key": "/k"}}]}, "dataFrom"),
        (
            {"target": {"template": {"data": {"x": '{{ printf "%s" .a }}'}}}, "data": []},
            "needs more than key lookups",
        ),
        ({"target": {"template": {"type": "kubernetes.io/dockerconfigjson"}}}, "Opaque"),
    ],
)
def test_what_it_cannot_resolve_is_an_error(spec: dict[str, Any], problem: str) -> None:
    with pytest.raises(ExternalSecretError, match=problem):
        resolve(_external_secret(**spec), ParameterStore({"/k": "v"}))


def test_only_the_store_dir_of_the_rendered_config_is_changed(tmp_path: Path) -> None:
    for dev in (True, False):
        rendered = render(dev=dev)
        local = with_store_dir(rendered, tmp_path)
        assert local.replace(f'"store_dir": "{tmp_path}"', STORE_DIR_LINE) == rendered


@pytest.mark.parametrize("count", [0, 2])
def test_a_config_without_exactly_one_store_dir_is_refused(count: int, tmp_path: Path) -> None:
    with pytest.raises(ServerError, match=f"found {count}"):
        with_store_dir("{\n" + f"  {STORE_DIR_LINE}\n" * count + "}\n", tmp_path)


def _secrets(namespace: str, name: str) -> dict[str, str] | None:
    return {"db": {"POSTGRES_HOST": "h", "POSTGRES_PASSWORD": "pw"}, "extra": {"A": "1"}}.get(name)


def test_the_environment_is_built_as_the_kubelet_builds_it() -> None:
    container = {
        "envFrom": [{"secretRef": {"name": "extra"}}],
        "env": [
            {"name": "PLAIN", "value": "x"},
            {"name": "A", "value": "env wins over envFrom"},
            {
                "name": "POSTGRES_HOST",
                "valueFrom": {"secretKeyRef": {"name": "db", "key": "POSTGRES_HOST"}},
            },
            {
                "name": "GONE",
                "valueFrom": {"secretKeyRef": {"name": "db", "key": "NOPE", "optional": True}},
            },
            {
                "name": "NONE",
                "valueFrom": {"secretKeyRef": {"name": "absent", "key": "K", "optional": True}},
            },
        ],
    }
    assert container_env(container, "tenant-a", _secrets) == {
        "A": "env wins over envFrom",
        "PLAIN": "x",
        "POSTGRES_HOST": "h",
    }


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        (
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "K"}}},
            "absent does not exist",
        ),
        ({"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "K"}}}, "has no key K"),
        (
            {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            "give pod_name",
        ),
        (
            {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            "status.podIP is not supported",
        ),
        ({"name": "X", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}, "only"),
        ({"name": "X", "value": "$(HOST):1"}, "expansion"),
    ],
)
def test_a_reference_the_kubelet_would_refuse_is_an_error(
    item: dict[str, Any], problem: str
) -> None:
    with pytest.raises(DeploymentError, match=problem):
        container_env({"env": [item]}, "tenant-a", _secrets)


def test_the_pods_name_and_namespace_are_the_pods_own() -> None:
    container = {
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ]
    }
    assert container_env(container, "tenant-a", _secrets, pod_name="exec-7d9f-x2k4p") == {
        "POD_NAME": "exec-7d9f-x2k4p",
        "POD_NS": "tenant-a",
    }
    assert pod_name_variables(container) == ["POD_NAME"]


def test_only_what_the_cluster_network_provides_is_replaced(tmp_path: Path) -> None:
    rendered = {
        "NATS_URL": DEFAULT_URL,
        "HOST": "0.0.0.0",
        "PORT": "8080",
        "NATS_USER": "u",
        "X": "y",
    }
    local = on_this_machine(
        rendered,
        nats_urls=["nats://127.0.0.1:1", "nats://127.0.0.1:2"],
        openai_base_url="http://fake/v1",
        home=tmp_path,
    )
    changed = {k for k in rendered if local[k] != rendered[k]}
    assert changed == {"NATS_URL", "HOST"}
    assert local["NATS_URL"] == "nats://127.0.0.1:1,nats://127.0.0.1:2"
    added = set(local) - set(rendered)
    assert added == {
        "OPENAI_BASE_URL",
        "PATH",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "HOME",
    }


def test_a_nats_url_that_is_not_the_platforms_service_is_not_guessed(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="nothing here stands in for it"):
        on_this_machine(
            {"NATS_URL": "nats://elsewhere:4222"}, nats_urls=[], openai_base_url="", home=tmp_path
        )
