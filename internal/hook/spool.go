package hook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
)

// spool keeps each accepted delivery in a directory, one file each, from before Hook answers 200
// until it is handled (or given up on): GitHub does not send again a delivery that got a 200, so
// a Hook killed with deliveries accepted and not handled (SIGKILL, OOM, a crash) would lose them.
// A Hook started again on the same directory handles them first. The files are written whole
// (a temporary file renamed into place) and not synced: they outlive the process, not the machine.
type spool struct{ dir string }

// spooled is one delivery as the spool keeps it.
type spooled struct {
	Event    string          `json:"event"`
	Delivery string          `json:"delivery"`
	Payload  json.RawMessage `json:"payload"`
}

// path is a delivery's file: named by a hash, since a delivery ID may hold any printable character.
func (s spool) path(delivery string) string {
	sum := sha256.Sum256([]byte(delivery))
	return filepath.Join(s.dir, hex.EncodeToString(sum[:16])+".json")
}

// keep writes ev's file.
func (s spool) keep(ev event) error {
	raw, err := json.Marshal(spooled{Event: ev.eventType, Delivery: ev.delivery, Payload: ev.payload})
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, ".incoming-*")
	if errors.Is(err, fs.ErrNotExist) {
		// A delivery accepted before Run made the directory (the listener starts first).
		if err = os.MkdirAll(s.dir, 0o700); err == nil {
			f, err = os.CreateTemp(s.dir, ".incoming-*")
		}
	}
	if err != nil {
		return err
	}
	_, err = f.Write(raw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.path(ev.delivery))
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// drop removes a delivery's file: it was handled, given up on or not accepted.
func (s spool) drop(ctx context.Context, delivery string) {
	if err := os.Remove(s.path(delivery)); err != nil && !errors.Is(err, os.ErrNotExist) {
		ctrl.LoggerFrom(ctx).Error(err, "remove a handled delivery from the spool", "delivery", delivery)
	}
}

// load reads the deliveries a previous Hook accepted and did not finish, and removes what a crash
// left half written.
func (s spool) load() ([]spooled, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("hook spool %s: %w", s.dir, err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("hook spool %s: %w", s.dir, err)
	}
	var out []spooled
	for _, e := range entries {
		p := filepath.Join(s.dir, e.Name())
		if strings.HasPrefix(e.Name(), ".incoming-") {
			_ = os.Remove(p)
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("hook spool: %w", err)
		}
		var d spooled
		if err := json.Unmarshal(raw, &d); err != nil || d.Delivery == "" {
			_ = os.Remove(p) // not one of ours, or damaged: nothing to handle
			continue
		}
		out = append(out, d)
	}
	return out, nil
}
