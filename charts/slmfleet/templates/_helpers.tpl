{{/*
The chart name, truncated to the 63 characters a label value may hold.
*/}}
{{- define "slmfleet.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name of every object: the release name, prefixed with the chart name unless it already holds it.
*/}}
{{- define "slmfleet.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
Labels that select the operator pod; they never change between upgrades.
*/}}
{{- define "slmfleet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slmfleet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/*
Labels of every object the chart renders.
*/}}
{{- define "slmfleet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "slmfleet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: slmfleet
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The operator image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "slmfleet.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The operator's arguments: `slmfleet run`, cluster-wide unless watchNamespaces names namespaces.
*/}}
{{- define "slmfleet.args" -}}
- run
- --liveness=http://0.0.0.0:8080/healthz
{{- if .Values.metrics.enabled }}
- --metrics=0.0.0.0:{{ .Values.metrics.port }}
{{- end }}
{{- if .Values.watchNamespaces }}
{{- range .Values.watchNamespaces }}
- --namespace={{ . }}
{{- end }}
{{- else }}
- --all-namespaces
{{- end }}
{{- if .Values.verbose }}
- --verbose
{{- end }}
{{- end -}}
