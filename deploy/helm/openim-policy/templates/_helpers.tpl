{{/*
Names, labels, and the values the templates derive: the policy target of each shape, the
shutdown timings and grace periods, the shim's config file.
*/}}

{{- define "openim-policy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release name (or fullnameOverride); objects are <fullname>-shim, <fullname>-policy... */}}
{{- define "openim-policy.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{- define "openim-policy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "openim-policy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: openim-policy
{{- end }}

{{/* Selector labels of one component ("shim" or "policy"): (list . "shim"). */}}
{{- define "openim-policy.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "openim-policy.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "openim-policy.componentLabels" -}}
{{ include "openim-policy.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* An image reference: (list . .Values.shim.image). */}}
{{- define "openim-policy.image" -}}
{{- $ := index . 0 -}}
{{- $image := index . 1 -}}
{{- $tag := $image.tag | default $.Values.image.tag | default $.Chart.AppVersion -}}
{{- $repo := $image.repository -}}
{{- with $.Values.image.registry }}{{ $repo = printf "%s/%s" (trimSuffix "/" .) $repo }}{{ end -}}
{{ printf "%s:%s" $repo (toString $tag) }}
{{- end }}

{{- define "openim-policy.mode" -}}
{{- $mode := .Values.mode -}}
{{- if not (has $mode (list "fleet" "sidecar" "mesh")) -}}
{{- fail (printf "mode must be fleet, sidecar or mesh, not %q" $mode) -}}
{{- end -}}
{{ $mode }}
{{- end }}

{{/* Whether the chart deploys the policy as a Deployment of its own (fleet and mesh shapes). */}}
{{- define "openim-policy.policyDeployment" -}}
{{- if and .Values.policy.enabled (ne (include "openim-policy.mode" .) "sidecar") }}true{{ end -}}
{{- end }}

{{/* Where the policy's Unix socket is in the sidecar shape (an emptyDir shared by both). */}}
{{- define "openim-policy.socketDir" -}}/run/openim{{- end }}
{{- define "openim-policy.socket" -}}{{ include "openim-policy.socketDir" . }}/policy.sock{{- end }}

{{/* The shim's policy target in each shape. */}}
{{- define "openim-policy.policyTarget" -}}
{{- $mode := include "openim-policy.mode" . -}}
{{- $full := include "openim-policy.fullname" . -}}
{{- if eq $mode "sidecar" -}}
unix:{{ include "openim-policy.socket" . }}
{{- else if eq $mode "mesh" -}}
http://{{ $full }}-policy.{{ .Release.Namespace }}.svc.{{ .Values.clusterDomain }}:{{ .Values.policy.port }}
{{- else -}}
http://{{ $full }}-policy-headless.{{ .Release.Namespace }}.svc.{{ .Values.clusterDomain }}:{{ .Values.policy.port }}
{{- end -}}
{{- end }}

{{/* The policy's drain delay in seconds (see values.yaml). */}}
{{- define "openim-policy.policyDrainDelay" -}}
{{- $mode := include "openim-policy.mode" . -}}
{{- $d := .Values.policy.shutdown.drainDelaySeconds -}}
{{- if kindIs "invalid" $d -}}
{{- if eq $mode "sidecar" }}0{{ else if eq $mode "mesh" }}5{{ else }}2{{ end -}}
{{- else -}}
{{- int $d -}}
{{- end -}}
{{- end }}

{{/* terminationGracePeriodSeconds of a component: (list . .Values.shim "shim"). Longer than the
     preStop sleep plus the application's shutdown timeout, or the kubelet's SIGKILL would cut the
     drain. */}}
{{- define "openim-policy.gracePeriod" -}}
{{- $v := index . 1 -}}
{{- $bound := add (int $v.preStopSleepSeconds) (int $v.shutdown.timeoutSeconds) -}}
{{- if kindIs "invalid" $v.terminationGracePeriodSeconds -}}
{{- add $bound 5 -}}
{{- else if le (int $v.terminationGracePeriodSeconds) $bound -}}
{{- fail (printf "%s.terminationGracePeriodSeconds (%d) must be larger than preStopSleepSeconds + shutdown.timeoutSeconds (%d)" (index . 2) (int $v.terminationGracePeriodSeconds) $bound) -}}
{{- else -}}
{{- int $v.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end }}

{{/* The shim's config file: the chart's settings, then shim.config over them. */}}
{{- define "openim-policy.shimConfig" -}}
{{- $user := deepCopy (.Values.shim.config | default dict) -}}
{{- range $key := list "listen" "shutdown" -}}
{{- if hasKey $user $key -}}
{{- fail (printf "shim.config.%s is set by the chart: use shim.port and shim.shutdown instead" $key) -}}
{{- end -}}
{{- end -}}
{{- $userPolicy := $user.policy | default dict -}}
{{- if and (not .Values.policy.enabled) (not (hasKey $userPolicy "targets")) -}}
{{- fail "policy.enabled is false: set shim.config.policy.targets to your policy" -}}
{{- end -}}
{{- $chart := dict
  "listen" (printf "0.0.0.0:%d" (int .Values.shim.port))
  "policy" (dict "targets" (list (include "openim-policy.policyTarget" .)))
  "spool" (dict "dir" "/var/lib/openim-shim/spool")
  "shutdown" (dict
    "drainDelay" (printf "%ds" (int .Values.shim.shutdown.drainDelaySeconds))
    "timeout" (printf "%ds" (int .Values.shim.shutdown.timeoutSeconds)))
-}}
{{- toYaml (mustMergeOverwrite $chart $user) }}
{{- end }}

{{/* A probe: the handler, then the timing values over it. (list handler timings) */}}
{{- define "openim-policy.probe" -}}
{{- toYaml (mustMergeOverwrite (deepCopy (index . 0)) (deepCopy (index . 1))) }}
{{- end }}

{{/* preStop sleep, when asked for: (list seconds). */}}
{{- define "openim-policy.preStop" -}}
{{- $s := int (index . 0) -}}
{{- if gt $s 0 }}
lifecycle:
  preStop:
    sleep:
      seconds: {{ $s }}
{{- end }}
{{- end }}

{{/*
The OTEL_* variables of one container, from `.Values.otel` (none while its endpoint is empty).
Call with (list $ "service-name").
*/}}
{{- define "openim-policy.otelEnv" -}}
{{- $root := index . 0 -}}
{{- $service := index . 1 -}}
{{- with $root.Values.otel -}}
{{- if .endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ .protocol | default "http/protobuf" | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ $service | quote }}
- name: OTEL_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: OTEL_POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.pod.name=$(OTEL_POD_NAME),k8s.namespace.name=$(OTEL_POD_NAMESPACE),service.instance.id=$(OTEL_POD_NAME)"
{{- end }}
{{- end }}
{{- end }}
