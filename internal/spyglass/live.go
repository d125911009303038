package spyglass

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// The live build log: while a run's ProwJob is pending and it has no finished.json, the build
// log section follows the test container's log through the Pod log API, sent to the page as
// Server-Sent Events (one "line" event per line, already rendered). When the stream ends (the
// container ended, or the Pod is gone) an "end" event tells the page to load the bucket's
// build-log.txt in place, which /spyglass/buildlog/ answers with 202 until the run is finished.

// testContainer is the container decorated jobs run their test in.
const testContainer = "test"

// isLive says whether the run's log should be followed from its Pod.
func (h *Handler) isLive(rn *run) bool {
	if h.o.PodLogs == nil || rn.pj == nil || rn.has("finished.json") {
		return false
	}
	s := rn.pj.Status.State
	return s == prowv1.PendingState || s == prowv1.TriggeredState
}

// serveLive streams the run's test container log as Server-Sent Events.
func (h *Handler) serveLive(w http.ResponseWriter, r *http.Request, src string) {
	ctx := r.Context()
	loc, pj, err := h.viewTarget(ctx, src)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if pj == nil && h.o.ProwJobs != nil {
		job, build := jobAndBuild(loc.Key)
		pj, _ = h.findProwJob(ctx, job, build)
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		h.fail(w, r, fmt.Errorf("live log: this server cannot stream responses"))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	if pj == nil || h.o.PodLogs == nil {
		sendEvent(w, flusher, "end", "no running Pod")
		return
	}
	h.streamPod(ctx, w, flusher, pj)
}

// streamPod sends the Pod's log a line at a time, then "end" with why it ended.
func (h *Handler) streamPod(ctx context.Context, w io.Writer, f http.Flusher, pj *prowv1.ProwJob) {
	ns := h.o.Config().PodNamespace
	pod := pj.Status.PodName
	if pod == "" {
		pod = pj.Name
	}
	rc, err := h.o.PodLogs.FollowLog(ctx, pj.Spec.Cluster, ns, pod, testContainer)
	if err != nil {
		sendEvent(w, f, "end", "the Pod's log is not available: "+err.Error())
		return
	}
	defer rc.Close()
	s, err := logConfig(h.o.Config())
	if err != nil {
		s = logSettings{re: defaultHighlight, maxLen: highlightMaxLn}
	}
	br := bufio.NewReaderSize(rc, 64<<10)
	n := 0
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			n++
			for _, l := range splitLines([]byte(line), n, 0, false, s) {
				cls := "line"
				if l.Highlighted {
					cls += " hl-line"
				}
				sendEvent(w, f, "line", fmt.Sprintf(`<div class="%s" id="%s"><a class="ln" href="#%s">%d</a><span class="t">%s</span></div>`, cls, l.Anchor, l.Anchor, l.Num, l.HTML))
			}
		}
		if err != nil {
			reason := "the container ended"
			if err != io.EOF {
				reason = "the log stream ended: " + err.Error()
			}
			sendEvent(w, f, "end", reason)
			return
		}
	}
}

// sendEvent writes one Server-Sent Event; data is one line.
func sendEvent(w io.Writer, f http.Flusher, event, data string) {
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, strings.ReplaceAll(data, "\n", " "))
	f.Flush()
}

// serveBuildLogFragment is the build log section alone, for the page to swap in when the live
// log ends: 202 while the run is still live (unless force=1: its Pod is gone), else the
// bucket's log.
func (h *Handler) serveBuildLogFragment(w http.ResponseWriter, r *http.Request, src string) {
	ctx := r.Context()
	rn, err := h.loadView(ctx, src)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if h.isLive(rn) && (r.URL.Query().Get("force") != "1" || !rn.has(buildLogName)) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `<p class="sg-empty">Waiting for the run's build-log.txt in the bucket…</p>`)
		return
	}
	rn.pj = nil // the fragment is the bucket's log from now on
	body, err := h.buildLogLens(ctx, r, rn, lensFiles{files: []string{buildLogName}, config: firstBuildLogConfig(h.o.Config())})
	if errors.Is(err, errNothing) {
		body, err = errNothingUnless(true, "This run has no build-log.txt.")
	}
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `<p class="sg-error">`+htmlEscape(err.Error())+`</p>`)
		return
	}
	_, _ = io.WriteString(w, string(body))
}

// ClusterPodLogs follows Pod logs through each build cluster's API server, by the cluster
// alias a ProwJob names (spec.cluster; "" is "default").
type ClusterPodLogs map[string]kubernetes.Interface

// FollowLog opens GET .../pods/<pod>/log?container=<c>&follow=true on the cluster.
func (c ClusterPodLogs) FollowLog(ctx context.Context, cluster, namespace, pod, container string) (io.ReadCloser, error) {
	if cluster == "" {
		cluster = "default"
	}
	cs, ok := c[cluster]
	if !ok {
		return nil, fmt.Errorf("build cluster %q is not one this server has credentials for", cluster)
	}
	rc, err := cs.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, Follow: true}).Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("follow log of pod %s/%s container %s on cluster %s: %w", namespace, pod, container, cluster, err)
	}
	return rc, nil
}
