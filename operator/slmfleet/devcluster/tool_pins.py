"""The Go tools the local cluster builds and the module files it copies, pinned by version.

Each entry names a Go module under hack/tools/ (whose go.sum pins every hash); tools.py builds
or fetches them into the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GoTool:
    """One pinned Go module under hack/tools/<module> that builds one or more binaries."""

    name: str
    module: str
    version: str
    packages: tuple[str, ...]
    binaries: tuple[str, ...]
    ldflags: tuple[str, ...] = field(default_factory=tuple)


KUBE_VERSION = "v1.33.13"

TOOLS: tuple[GoTool, ...] = (
    GoTool(
        name="kube",
        module="kube",
        version=KUBE_VERSION,
        packages=(
            "go.etcd.io/etcd/server/v3",
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kube-scheduler",
            "k8s.io/kubernetes/cmd/kubectl",
        ),
        binaries=("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"),
        ldflags=(
            f"-X k8s.io/component-base/version.gitVersion={KUBE_VERSION}",
            "-X k8s.io/component-base/version.gitMajor=1",
            "-X k8s.io/component-base/version.gitMinor=33",
            "-X k8s.io/component-base/version.gitTreeState=clean",
        ),
    ),
    GoTool(
        name="kwok",
        module="kwok",
        version="v0.7.0",
        packages=("sigs.k8s.io/kwok/cmd/kwok",),
        binaries=("kwok",),
    ),
    GoTool(
        name="sim",
        module="sim",
        version="v0.10.2",
        packages=("github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim",),
        binaries=("llm-d-inference-sim",),
    ),
    GoTool(
        name="helm",
        module="helm",
        version="v3.19.5",
        packages=("helm.sh/helm/v3/cmd/helm",),
        binaries=("helm",),
        ldflags=(
            "-X helm.sh/helm/v3/internal/version.version=v3.19.5",
            # The Kubernetes version `helm template` and `helm lint` assume for .Capabilities.
            "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1",
            "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=34",
            "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1",
            "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=34",
        ),
    ),
    GoTool(
        # Our own main package (hack/tools/kstatus/main.go) around Flux's status library: the
        # tests' oracle for what GitOps tools make of the operator's conditions.
        name="kstatus",
        module="kstatus",
        version="v0.37.2",
        packages=("slmfleet.io/hack/tools/kstatus",),
        binaries=("kstatus",),
    ),
)


@dataclass(frozen=True)
class GoModuleFiles:
    """Files copied out of a pinned Go module (hack/tools/<module>), nothing built."""

    name: str
    module: str
    version: str
    go_module: str
    subdir: str
    pattern: str = "*.yaml"


GATEWAY_API = GoModuleFiles(
    name="gateway-api",
    module="gateway-api",
    version="v1.3.0",
    go_module="sigs.k8s.io/gateway-api",
    subdir="config/crd/standard",
)
FILE_BUNDLES: tuple[GoModuleFiles, ...] = (GATEWAY_API,)
