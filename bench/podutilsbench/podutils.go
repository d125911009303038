// Package podutilsbench measures the pod utilities: the entrypoint's overhead over running a
// command directly, the sidecar's upload against a raw gocloud copy of the same files, and the
// sidecar's memory while censoring a large log.
package podutilsbench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/utils/clock"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/entrypointoptions"
	"github.com/prowl-ci/prowl/internal/podutils/gcsupload"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/podutils/sidecar"
	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
	"github.com/prowl-ci/prowl/internal/storage"
)

// BuildEntrypoint builds the entrypoint binary into dir.
func BuildEntrypoint(repoRoot, dir string) (string, error) {
	out := filepath.Join(dir, "entrypoint")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/entrypoint")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build entrypoint: %w\n%s", err, b)
	}
	return out, nil
}

// ThroughEntrypoint runs args through the entrypoint binary, as a test container does.
func ThroughEntrypoint(bin, dir string, args ...string) func() error {
	return func() error {
		o := entrypointoptions.Options{Timeout: time.Hour, GracePeriod: time.Second, ArtifactDir: filepath.Join(dir, "artifacts"),
			Options: &wrapper.Options{Args: args, ProcessLog: filepath.Join(dir, "process-log.txt"), MarkerFile: filepath.Join(dir, "marker-file.txt")}}
		raw, err := json.Marshal(&o)
		if err != nil {
			return err
		}
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), entrypointoptions.OptionsEnv+"="+string(raw))
		cmd.Stdout = io.Discard
		return cmd.Run()
	}
}

// Directly runs args with output discarded, the baseline.
func Directly(args ...string) func() error {
	return func() error {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout = io.Discard
		return cmd.Run()
	}
}

// MakeArtifacts writes n files of size bytes each under dir/artifacts, in nested directories.
func MakeArtifacts(dir string, n, size int) error {
	buf := make([]byte, size)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	for i := range n {
		p := filepath.Join(dir, "artifacts", fmt.Sprintf("d%02d", i%50), fmt.Sprintf("f%04d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// SidecarUpload runs the sidecar over dir (its marker written) into a fresh file:// bucket.
func SidecarUpload(dir, bucketRoot string) func() error {
	run := 0
	return func() error {
		run++
		bucket := filepath.Join(bucketRoot, fmt.Sprintf("sidecar-%d", run))
		o := &options.Sidecar{
			GCSOptions: &options.GCSUpload{Items: []string{filepath.Join(dir, "artifacts")}, GCSConfiguration: &prowv1.GCSConfiguration{Bucket: "file://" + bucket, PathStrategy: "explicit"}},
			Entries:    []wrapper.Options{{Args: []string{"true"}, ProcessLog: filepath.Join(dir, "process-log.txt"), MarkerFile: filepath.Join(dir, "marker-file.txt"), MetadataFile: filepath.Join(dir, "artifacts", "metadata.json")}},
		}
		if err := os.WriteFile(o.Entries[0].MarkerFile, []byte("0"), 0o644); err != nil {
			return err
		}
		spec := downwardapi.JobSpec{Type: prowv1.PeriodicJob, Job: "bench", BuildID: "1"}
		t, err := gcsupload.Open(context.Background(), o.GCSOptions, spec)
		if err != nil {
			return err
		}
		defer t.Close()
		if code := sidecar.Run(context.Background(), o, t, clock.RealClock{}, io.Discard); code != 0 {
			return fmt.Errorf("sidecar exit %d", code)
		}
		return os.RemoveAll(bucket)
	}
}

// RawCopy copies the same files with gocloud, one after another: the baseline.
func RawCopy(dir, bucketRoot string) func() error {
	run := 0
	return func() error {
		run++
		bucket := filepath.Join(bucketRoot, fmt.Sprintf("raw-%d", run))
		b, err := storage.Open(context.Background(), "file://"+bucket, storage.Options{})
		if err != nil {
			return err
		}
		defer b.Close()
		root := filepath.Join(dir, "artifacts")
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			return storage.BucketWriter{Bucket: b}.Write(context.Background(), "logs/bench/1/"+rel, storage.FileSource(p), "")
		})
		if err != nil {
			return err
		}
		return os.RemoveAll(bucket)
	}
}

// CensorLargeLog writes a log of size bytes with secrets sprinkled in and censors it as the
// sidecar does. Run it in its own process to measure the sidecar's peak memory.
func CensorLargeLog(dir string, size int64) error {
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(secrets, "token"), []byte("hunter2-very-secret"), 0o600); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "process-log.txt")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	line := []byte("ok line of build output with the token hunter2-very-secret in it, and more text\n")
	for written := int64(0); written < size; written += int64(len(line)) {
		if _, err := w.Write(line); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	c, err := sidecar.LoadSecrets([]string{secrets}, 0, 0)
	if err != nil {
		return err
	}
	return c.File(logPath)
}
