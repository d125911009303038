package deck

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"time"
)

// heartbeat keeps idle event streams open through proxies.
const heartbeat = 30 * time.Second

// handleEvents streams the job list's changes for the filter in the query as Server-Sent
// Events: `row` (a row's new HTML), `remove` (the id of a row that left the filter or the
// cache), `summary` (the counts' new HTML) and `reload` (this stream fell behind; reload the page).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return
	}
	sub := s.index.subscribe()
	defer s.index.unsubscribe(sub)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	bw := bufio.NewWriter(w)
	bw.WriteString("retry: 2000\n: live\n\n")
	_ = bw.Flush()
	flusher.Flush()
	tick := s.o.Clock.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C():
			bw.WriteString(": heartbeat\n\n")
		case c := <-sub.ch:
			if !s.writeChanges(bw, r, f, s.drain(sub, c)) || sub.overflowed.Load() {
				bw.WriteString("event: reload\ndata: behind\n\n")
				_ = bw.Flush()
				flusher.Flush()
				return
			}
		}
		if err := bw.Flush(); err != nil {
			return
		}
		flusher.Flush()
	}
}

// drain takes the changes already waiting after c, so that a burst is sent as one batch with
// one summary, and keeps the last change of each job.
func (s *Server) drain(sub *subscriber, c change) []change {
	batch := []change{c}
	for len(batch) < cap(sub.ch) {
		select {
		case c := <-sub.ch:
			batch = append(batch, c)
			continue
		default:
		}
		break
	}
	seen := map[string]int{}
	var out []change
	for _, c := range batch {
		if i, ok := seen[c.row.name]; ok {
			c.old = out[i].old // what the page showed before the first change of the batch
			out[i] = c
			continue
		}
		seen[c.row.name] = len(out)
		out = append(out, c)
	}
	return out
}

// writeChanges writes the events for a batch; false when rendering failed.
func (s *Server) writeChanges(bw *bufio.Writer, r *http.Request, f filter, batch []change) bool {
	now := s.o.Clock.Now()
	changed := false
	for _, c := range batch {
		was := c.old != nil && f.matches(c.old)
		if c.removed || !f.matches(c.row) {
			if was {
				writeEvent(bw, "remove", "pj-"+c.row.name)
				changed = true
			}
			continue
		}
		html, err := render("row", s.rowView(r, c.row, now))
		if err != nil {
			return false
		}
		writeEvent(bw, "row", string(html))
		changed = true
	}
	if changed {
		counts, total, rates := s.summary(f, now)
		html, err := render("summary", listView{Counts: counts, Total: total, Rates: rates})
		if err != nil {
			return false
		}
		writeEvent(bw, "summary", string(html))
	}
	return true
}

// writeEvent writes one event; each line of data is its own data: line, as the format wants.
func writeEvent(bw *bufio.Writer, name, data string) {
	bw.WriteString("event: " + name + "\n")
	for _, line := range strings.Split(string(bytes.TrimRight([]byte(data), "\n")), "\n") {
		bw.WriteString("data: " + line + "\n")
	}
	bw.WriteString("\n")
}
