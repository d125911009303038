package wrapper

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Exit codes the entrypoint records in a marker besides the command's own, as Prow's; the
// sidecar reads them.
const (
	// InternalErrorCode is recorded when the command could not start, timed out, or the
	// entrypoint itself failed.
	InternalErrorCode = 127
	// AbortedErrorCode is recorded when the entrypoint was told to stop (SIGINT or SIGTERM).
	AbortedErrorCode = 130
)

// WriteMarker writes code to path atomically: a reader sees no file or the whole code.
func WriteMarker(path string, code int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(code)), 0o644); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	return nil
}

// ReadMarker reads the exit code in a marker file.
func ReadMarker(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	code, err := strconv.Atoi(string(bytes.TrimSpace(raw)))
	if err != nil {
		return 0, fmt.Errorf("marker %s holds %q, not an exit code", path, raw)
	}
	return code, nil
}
