"""slmfleet: a Kubernetes operator that runs fleets of small language models on vLLM."""

__version__ = "0.1.0"

GROUP = "slmfleet.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
FIELD_MANAGER = "slmfleet-operator"
