module slmfleet.io/hack/tools/gateway-api

go 1.24.0

// Not built: the module carries the Gateway API CRDs (config/crd/standard) that the local
// cluster installs; `slmfleet dev tools` downloads it and copies them out.
require sigs.k8s.io/gateway-api v1.3.0
