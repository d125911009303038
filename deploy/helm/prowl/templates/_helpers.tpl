{{/* prowl.image is the prowl image reference: repository:tag, with @digest when set. */}}
{{- define "prowl.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}{{ with .Values.image.digest }}@{{ . }}{{ end }}
{{- end -}}
