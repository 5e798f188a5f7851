"""Every image a manifest of ours names is one the offline build produces (same names online
and offline), with the versions of cluster/versions.env, or one of the images built from
this repository (deploy/scripts/service-image.sh, runner-image.sh, agent-image.sh,
stateful-image.sh: tagged with pyproject.toml's version), as the code that starts it names it."""

import re
import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"


def built_images():
    """images.list expanded with versions.env, by the shell that the build uses."""
    script = (f'set -a; source {CLUSTER}/versions.env; set +a; '
              f'grep -v "^#" {CLUSTER}/images.list | while read -r spec _; do '
              '[ -n "$spec" ] && eval echo "$spec"; done')
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def project_images():
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    return {f"kube-gameday/{image}:{version}" for image in ("service", "runner", "agent", "stateful")}


def versions():
    pairs = re.findall(r"^([A-Z_]+)=(\S+)", (CLUSTER / "versions.env").read_text(), re.M)
    return dict(pairs, PODNET_TAG=dict(pairs)["PODNET_VERSION"])


def manifest_images():
    """(file, image) for every `image:` line under deploy/ and the node image's manifests."""
    files = [*REPO.glob("deploy/**/*.yaml"), *CLUSTER.glob("node/files/kind/manifests/*.yaml")]
    for path in files:
        for match in re.finditer(r"^\s*image:\s*(\S+)", path.read_text(), re.M):
            yield path.relative_to(REPO), match.group(1)


def test_images_list_expands_every_version():
    images = built_images()
    assert images, "images.list is empty"
    assert not [i for i in images if "$" in i or i.endswith(":")], images


def test_every_manifest_image_is_built_offline():
    images = built_images() | project_images()
    # the node image's manifests name versions that build-node-image.sh fills in
    filled = re.compile("|".join(versions()))
    named = {(str(f), filled.sub(lambda m: versions()[m.group(0)], i)) for f, i in manifest_images()}
    missing = [(f, i) for f, i in named if i not in images]
    assert not missing, f"not built by cluster/images.list: {missing}"


def test_containerd_sandbox_image_is_kubeadms_pause():
    config = (CLUSTER / "node/files/etc/containerd/config.toml").read_text()
    assert 'sandbox_image = "registry.k8s.io/pause:PAUSE_VERSION"' in config
    assert any(i.startswith("registry.k8s.io/pause:") for i in built_images())


def test_the_agent_image_the_actions_start_is_the_one_built():
    from core.agents import IMAGE
    assert IMAGE in project_images()


def test_the_kwok_module_built_is_the_version_versions_env_names():
    pinned = re.search(r"^\s*sigs\.k8s\.io/kwok (v\S+)", (CLUSTER / "components/kwok/go.mod").read_text(), re.M)
    assert pinned and pinned.group(1) == versions()["KWOK_VERSION"]
