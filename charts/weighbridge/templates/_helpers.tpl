{{/* Chart name, overridable. */}}
{{- define "weighbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped name; the release name alone when it already contains the chart name. */}}
{{- define "weighbridge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "weighbridge.schedulerFullname" -}}
{{- printf "%s-scheduler" (include "weighbridge.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "weighbridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "weighbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: weighbridge
{{- end }}

{{- define "weighbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "weighbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: extender
{{- end }}

{{- define "weighbridge.schedulerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "weighbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: scheduler
{{- end }}

{{- define "weighbridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "weighbridge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "weighbridge.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret holding the serving certificate. */}}
{{- define "weighbridge.tlsSecretName" -}}
{{- if .Values.tls.certManager.enabled }}
{{- printf "%s-tls" (include "weighbridge.fullname" .) }}
{{- else }}
{{- required "tls.enabled needs tls.secretName or tls.certManager.enabled" .Values.tls.secretName }}
{{- end }}
{{- end }}

{{/* "true" when callers must present a client certificate (mutual TLS), else empty. */}}
{{- define "weighbridge.clientAuth" -}}
{{- if and .Values.tls.enabled .Values.tls.clientAuth.enabled }}true{{ end }}
{{- end }}

{{/* "true" when the chart's second scheduler needs its client certificate, else empty. */}}
{{- define "weighbridge.schedulerClientCert" -}}
{{- if and (include "weighbridge.clientAuth" .) .Values.scheduler.enabled }}true{{ end }}
{{- end }}

{{/* The Secret holding the second scheduler's client certificate. */}}
{{- define "weighbridge.clientTlsSecretName" -}}
{{- default (printf "%s-client-tls" (include "weighbridge.schedulerFullname" .)) .Values.tls.clientAuth.secretName }}
{{- end }}

{{/* Where the second scheduler (and the helm test) mount the client certificate. */}}
{{- define "weighbridge.clientTlsDir" -}}
/etc/weighbridge/client-tls
{{- end }}

{{/* The issuer of the extender's and the second scheduler's certificates: the one named,
or the CA the chart creates (templates/certificate.yaml). */}}
{{- define "weighbridge.leafIssuerRef" -}}
{{- $issuer := .Values.tls.certManager.issuerRef }}
{{- if $issuer.name }}
name: {{ $issuer.name }}
kind: {{ $issuer.kind }}
group: {{ $issuer.group }}
{{- else }}
name: {{ include "weighbridge.fullname" . }}-ca
kind: Issuer
group: cert-manager.io
{{- end }}
{{- end }}

{{- define "weighbridge.scheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}

{{/* The Service's DNS name inside the cluster; also the certificate's server name. */}}
{{- define "weighbridge.serviceHost" -}}
{{- printf "%s.%s.svc" (include "weighbridge.fullname" .) .Release.Namespace }}
{{- end }}

{{- define "weighbridge.url" -}}
{{- printf "%s://%s:%d" (include "weighbridge.scheme" .) (include "weighbridge.serviceHost" .) (int .Values.service.port) }}
{{- end }}

{{/* Restricted Pod Security profile, shared by every pod the chart runs. */}}
{{- define "weighbridge.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "weighbridge.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}
