{{/*
Rules on cluster-scoped objects: always in the ClusterRole.
*/}}
{{- define "slmfleet.clusterRules" -}}
# get, list+watch: the kopf index of GPUClasses (cache/indexes.py), read by every model's plan.
# patch: handlers/gpuclass.py removes the finalizer earlier versions put on classes.
- apiGroups: ["slmfleet.io"]
  resources: ["gpuclasses"]
  verbs: ["get", "list", "watch", "patch"]
# handlers/gpuclass.py (refresh) writes GPUClass status with merge-patch.
- apiGroups: ["slmfleet.io"]
  resources: ["gpuclasses/status"]
  verbs: ["patch"]
# cache/indexes.py lists and watches nodes (slim: labels, taints, allocatable) so
# handlers/gpuclass.py can count those matching a GPUClass.
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["list", "watch"]
# kopf's resource observer watches CRDs to notice slmfleet.io kinds being installed or removed.
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
# handlers/weight_observe.py reads the StorageClass a SmallModel's spec.cache names, so a class
# that does not exist is a clear condition instead of a claim that stays Pending.
- apiGroups: ["storage.k8s.io"]
  resources: ["storageclasses"]
  verbs: ["get"]
{{- end -}}

{{/*
Rules on namespaced objects: in the ClusterRole cluster-wide, in a Role per watched namespace
otherwise.
*/}}
{{- define "slmfleet.namespacedRules" -}}
# get, list+watch: the kopf index of SmallModels (cache/indexes.py). patch:
# handlers/model_sync.py clears the request annotations it acted on, restores a spec
# (rollback-to), and removes the finalizer earlier versions put on models.
- apiGroups: ["slmfleet.io"]
  resources: ["smallmodels"]
  verbs: ["get", "list", "watch", "patch"]
# Status is written with merge-patch on the status subresource: handlers/model_sync.py
# (execute) and handlers/autoscaling.py.
- apiGroups: ["slmfleet.io"]
  resources: ["smallmodels/status"]
  verbs: ["patch"]
# builders/labels.py (owner_reference) sets blockOwnerDeletion on every child; clusters with the
# OwnerReferencesPermissionEnforcement admission plugin require update on the owner's finalizers.
- apiGroups: ["slmfleet.io"]
  resources: ["smallmodels/finalizers"]
  verbs: ["update"]
# Engine Deployments (builders/deployment.py) are server-side applied by handlers/model_sync.py:
# apply is a PATCH, and an apply that creates a missing object is also authorized as create.
# list+watch: the kopf index of engine Deployments (label slmfleet.io/model). get: a revision is
# read again right before it is deleted, and a name the cache does not know is checked for its
# owner before it is first applied. model_sync.py scales each revision's Deployment (patch) and
# deletes the Deployments of revisions that no longer serve.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "patch", "create", "delete"]
# cache/indexes.py keeps EvalSuites in a kopf index (list, then watch);
# handlers/rollout_analysis.py reads the one a SmallModel's rollout names from it.
- apiGroups: ["slmfleet.io"]
  resources: ["evalsuites"]
  verbs: ["get", "list", "watch"]
# Services (builders/service.py), server-side applied by handlers/smallmodel.py (reconcile);
# handlers/model_sync.py deletes the per-revision Services of the gateway-api provider
# (traffic/gateway_api.py revision_objects) with the revision's Deployment. get: ownership.py reads
# the existing object before every forced apply or delete, so a user's object of the same name is
# never taken over or deleted (the same holds for every get below next to patch).
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "patch", "create", "delete"]
# PodDisruptionBudgets (builders/service.py) of models that can run more than one replica,
# server-side applied by handlers/model_sync.py; a kopf index of them (label slmfleet.io/model)
# tells which a model outgrew (reconcile/disruption_budget.py), and model_sync.py deletes those.
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "patch", "create", "delete"]
# Weight caches (spec.cache): a claim and a download Job per (repo, revision), server-side
# applied by handlers/model_sync.py when missing (get: ownership.py reads a name first); kopf
# indexes of both (label slmfleet.io/weights-cache); handlers/weight_cache.py marks an unused
# claim (patch) and deletes unused caches after their grace period.
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["get", "list", "watch", "patch", "create", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "patch", "create", "delete"]
# The kopf index of engine pods (label slmfleet.io/model): readiness and addresses for the
# router and the analysis, the scheduler's reason for an unschedulable pod. While a revision
# drains, handlers/drain_observe.py lists the namespace's router pods (by label) to ask each
# ready one which config it serves.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
# handlers/observe.py (_token) reads only the Secret a SmallModel names in
# spec.source.huggingFace.tokenSecretRef, in the model's own namespace, to read gated repos'
# config.json; handlers/modelroute.py reads the Secrets ModelRoute backends name to check their
# slmfleet.io/usable-by label; handlers/eval_sources.py reads the API key of the ModelRoute url
# backend an EvalSuite names as its reference, only when that label allows the router. get only:
# the operator can read a Secret it is told the name of, never list them.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
# ModelRoutes: handlers/modelroute.py watches them with kopf.on.event (list+watch, no
# finalizer) and lists them per namespace; it writes their status with merge-patch.
- apiGroups: ["slmfleet.io"]
  resources: ["modelroutes"]
  verbs: ["list", "watch"]
- apiGroups: ["slmfleet.io"]
  resources: ["modelroutes/status"]
  verbs: ["patch"]
# traffic/gateway.py (httproute) sets blockOwnerDeletion on the HTTPRoute it owns.
- apiGroups: ["slmfleet.io"]
  resources: ["modelroutes/finalizers"]
  verbs: ["update"]
# handlers/modelroute.py lists and watches the EndpointSlices of model Services to give the
# router ready endpoints only.
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["list", "watch"]
# The router's config ConfigMap (builders/router.py), server-side applied by
# handlers/modelroute.py; get: the ownership check, and handlers/eval_sources.py reading an
# EvalSuite's JSONL dataset (casesFrom.configMapKeyRef).
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "patch", "create"]
# HTTPRoutes of gateway-api ModelRoutes (traffic/gateway.py), server-side applied by
# handlers/modelroute.py; get: the ownership check, and handlers/drain_observe.py reads a
# gateway-api SmallModel's HTTPRoute while a revision drains (weight 0 before it goes).
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "patch", "create"]
# NetworkPolicies of engine pods (builders/network_policy.py, handlers/smallmodel.py) and router
# pods (handlers/modelroute.py), server-side applied when networkPolicy.enabled; get: the
# ownership check.
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "patch", "create"]
# handlers/autoscaling.py writes spec.replicas through the SmallModels' scale subresource
# (merge-patch), as kubectl scale would.
- apiGroups: ["slmfleet.io"]
  resources: ["smallmodels/scale"]
  verbs: ["patch"]
# Autoscaling modes hpa and keda: handlers/autoscaling.py server-side applies the
# HorizontalPodAutoscaler or KEDA ScaledObject (builders/autoscaler.py) and deletes the one of
# a mode no longer in use.
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "patch", "create", "delete"]
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects"]
  verbs: ["get", "patch", "create", "delete"]
# handlers/events.py (kopf.event) and kopf's own handler events post core v1 Events (POST only).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}
