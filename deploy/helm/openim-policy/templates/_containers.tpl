{{/*
The two containers, shared by the Deployments of each shape.
*/}}

{{/* The policy container. In the sidecar shape it listens on the Unix socket and has no probe
     (Kubernetes' gRPC probe dials the pod's IP). */}}
{{- define "openim-policy.policyContainer" -}}
{{- $sidecar := eq (include "openim-policy.mode" .) "sidecar" -}}
{{- $p := .Values.policy -}}
name: policy
image: {{ include "openim-policy.image" (list . $p.image) }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args:
  {{- if $sidecar }}
  - --listen=unix:{{ include "openim-policy.socket" . }}
  {{- else }}
  - --listen=0.0.0.0:{{ int $p.port }}
  {{- end }}
  - --rules=/etc/openim-policy/rules.yaml
  {{- if $p.waitForRules }}
  - --wait-for-rules
  {{- end }}
  - --reload-interval={{ $p.reloadInterval }}
  {{- if gt (int $p.metricsPort) 0 }}
  - --metrics-listen=0.0.0.0:{{ int $p.metricsPort }}
  {{- end }}
  - --drain-delay={{ include "openim-policy.policyDrainDelay" . }}s
  - --shutdown-timeout={{ int $p.shutdown.timeoutSeconds }}s
  - --log-format={{ $p.logFormat }}
  {{- with $p.extraArgs }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $otel := include "openim-policy.otelEnv" (list . "openim-policy") | trim }}
{{- if or $p.extraEnv $otel }}
env:
  {{- with $otel }}{{ . | nindent 2 }}{{ end }}
  {{- with $p.extraEnv }}{{ toYaml . | nindent 2 }}{{ end }}
{{- end }}
ports:
  {{- if not $sidecar }}
  - name: grpc
    containerPort: {{ int $p.port }}
    protocol: TCP
  {{- end }}
  {{- if gt (int $p.metricsPort) 0 }}
  - name: policy-metrics
    containerPort: {{ int $p.metricsPort }}
    protocol: TCP
  {{- end }}
{{- if not $sidecar }}
readinessProbe:
  {{- include "openim-policy.probe" (list (dict "grpc" (dict "port" (int $p.port))) $p.probes.readiness) | nindent 2 }}
livenessProbe:
  {{- include "openim-policy.probe" (list (dict "tcpSocket" (dict "port" "grpc")) $p.probes.liveness) | nindent 2 }}
{{- end }}
{{- include "openim-policy.preStop" (list $p.preStopSleepSeconds) }}
resources:
  {{- toYaml $p.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  # A directory mount, not subPath: the kubelet updates a ConfigMap volume by swapping a
  # symlink, which a subPath mount (bound to the file at start) never sees. The policy then
  # reloads the changed rules by itself.
  - name: rules
    mountPath: /etc/openim-policy
    readOnly: true
  - name: policy-data
    mountPath: /var/lib/openim-policy
  {{- if $sidecar }}
  - name: socket
    mountPath: {{ include "openim-policy.socketDir" . }}
  {{- end }}
{{- end }}

{{/* The shim container. */}}
{{- define "openim-policy.shimContainer" -}}
{{- $s := .Values.shim -}}
name: shim
image: {{ include "openim-policy.image" (list . $s.image) }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args:
  - --config=/etc/openim-shim/shim.yaml
{{- $otel := include "openim-policy.otelEnv" (list . "openim-shim") | trim }}
{{- if or $s.extraEnv $otel }}
env:
  {{- with $otel }}{{ . | nindent 2 }}{{ end }}
  {{- with $s.extraEnv }}{{ toYaml . | nindent 2 }}{{ end }}
{{- end }}
ports:
  - name: http
    containerPort: {{ int $s.port }}
    protocol: TCP
livenessProbe:
  {{- include "openim-policy.probe" (list (dict "httpGet" (dict "path" "/healthz" "port" "http")) $s.probes.liveness) | nindent 2 }}
readinessProbe:
  {{- include "openim-policy.probe" (list (dict "httpGet" (dict "path" "/readyz" "port" "http")) $s.probes.readiness) | nindent 2 }}
{{- include "openim-policy.preStop" (list $s.preStopSleepSeconds) }}
resources:
  {{- toYaml $s.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  # A directory mount (see the policy's rules): SIGHUP makes the shim reread it; the chart rolls
  # the pods instead when shim.config changes.
  - name: config
    mountPath: /etc/openim-shim
    readOnly: true
  - name: data
    mountPath: /var/lib/openim-shim
  {{- if eq (include "openim-policy.mode" .) "sidecar" }}
  - name: socket
    mountPath: {{ include "openim-policy.socketDir" . }}
  {{- end }}
  {{- with $s.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
