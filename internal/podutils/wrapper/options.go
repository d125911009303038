// Package wrapper holds what the entrypoint and the sidecar agree on about one wrapped test
// process: its command, and where its log, exit-code marker and metadata go. It imports only the
// standard library, because the entrypoint does.
package wrapper

// Options describe one wrapped process, with Prow's JSON keys.
type Options struct {
	// Args is the command and its arguments.
	Args []string `json:"args"`
	// ContainerName is the container the process runs in, when the Pod has several.
	ContainerName string `json:"container_name,omitempty"`
	// ProcessLog receives the process's stdout and stderr.
	ProcessLog string `json:"process_log"`
	// MarkerFile receives the process's exit code once it ends.
	MarkerFile string `json:"marker_file"`
	// MetadataFile is where the process may write JSON metadata for finished.json.
	MetadataFile string `json:"metadata_file"`
}
