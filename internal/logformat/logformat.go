// Package logformat makes the logger every prowl command logs through: short readable lines for a
// person at a terminal, or controller-runtime's JSON for machines.
package logformat

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Formats of --log-format.
const (
	Text = "text"
	JSON = "json"
)

// Default is Text when w is a terminal and JSON otherwise (a file, a pipe, a log collector).
func Default(w io.Writer) string {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return Text
	}
	return JSON
}

// New is the logger of format writing to w.
func New(format string, w io.Writer) (logr.Logger, error) {
	switch format {
	case Text:
		return logr.FromSlogHandler(NewTextHandler(w)), nil
	case JSON:
		// Errors carry no stack trace: a job that cannot run is a fact about the job, said in
		// one record, not a bug in Prowl (zap's production default traces every error).
		return zap.New(zap.WriteTo(w), zap.StacktraceLevel(zapcore.DPanicLevel)), nil
	}
	return logr.Logger{}, fmt.Errorf("--log-format %q: want text or json", format)
}

// bookkeeping are the keys controller-runtime adds to every reconcile's logger, which say nothing
// to a person reading along: the controller's group and kind, the reconcile ID, and the object
// again as a structure (its name is kept).
var bookkeeping = []string{"controllerGroup", "controllerKind", "reconcileID", "ProwJob", "Pod", "namespace"}

// lifecycle are controller-runtime's messages about its own machinery, left out of text lines.
var lifecycle = []string{"Starting EventSource", "Starting Controller", "Starting workers",
	"Shutdown signal received, waiting for all workers to finish", "All workers finished",
	"Stopping and waiting for non leader election runnables", "Stopping and waiting for leader election runnables",
	"Stopping and waiting for caches", "Stopping and waiting for webhooks", "Stopping and waiting for HTTP servers",
	"Wait completed, proceeding to shutdown the manager", "Starting metrics server", "Serving metrics server"}

// TextHandler writes one short line per record: the time, ERROR for errors, the logger's name,
// the message, the error and the attributes as key=value. It prints no stack traces and leaves out
// debug records (logr's V(1) and up).
type TextHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	attrs []slog.Attr
	group string
}

// NewTextHandler is a TextHandler writing to w.
func NewTextHandler(w io.Writer) *TextHandler { return &TextHandler{mu: &sync.Mutex{}, w: w} }

// Enabled is true from Info up.
func (h *TextHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

// Handle writes r as one line.
func (h *TextHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelError && slices.Contains(lifecycle, r.Message) {
		return nil
	}
	var name, errText string
	var kv strings.Builder
	seen := map[string]bool{}
	add := func(a slog.Attr) bool {
		value := a.Value.Resolve().String()
		switch {
		case a.Key == "logger":
			name = a.Value.String()
		case a.Key == "err" || a.Key == "error":
			errText = a.Value.String()
		case slices.Contains(bookkeeping, a.Key), a.Equal(slog.Attr{}), value == "", seen[a.Key]:
			// bookkeeping, nothing, or said already (the logger's keys repeat the record's)
		default:
			seen[a.Key] = true
			key := a.Key
			if h.group != "" {
				key = h.group + "." + key
			}
			fmt.Fprintf(&kv, " %s=%s", key, quote(value))
		}
		return true
	}
	r.Attrs(add) // the record's own keys first: they say what happened
	for _, a := range h.attrs {
		add(a)
	}
	var line strings.Builder
	line.WriteString(r.Time.Format(time.TimeOnly))
	if r.Level >= slog.LevelError {
		line.WriteString(" ERROR")
	} else if r.Level >= slog.LevelWarn {
		line.WriteString(" WARNING")
	}
	if name != "" {
		line.WriteString(" " + name + ":")
	}
	line.WriteString(" " + r.Message)
	if errText != "" {
		line.WriteString(": " + errText)
	}
	line.WriteString(kv.String())
	line.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, line.String())
	return err
}

// WithAttrs is a handler that adds attrs to every line.
func (h *TextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(slices.Clip(h.attrs), attrs...)
	return &c
}

// WithGroup is a handler that prefixes later keys with name.
func (h *TextHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

// quote quotes s when it would not read as one value.
func quote(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return strconv.Quote(s)
	}
	return s
}
