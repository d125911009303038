package localnode

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The kubelet API's log endpoint, so that `kubectl logs` works for the node's Pods: the API
// server proxies GET /containerLogs/<namespace>/<pod>/<container> to the address and port the
// Node's status names. It listens on loopback only, with a self-signed certificate (the API server
// does not verify a kubelet's serving certificate unless --kubelet-certificate-authority is set).
// Written by hand because the kubelet's own server is not a library one can embed.

// serveLogs starts the endpoint and returns its port; it stops when ctx ends.
func (n *Node) serveLogs(ctx context.Context) (int, error) {
	cert, err := selfSigned(n.clk().Now())
	if err != nil {
		return 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("listen for the kubelet log endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", n.containerLogs)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// containerLogs answers as the kubelet does: the container's output, optionally only its last
// tailLines lines or its first limitBytes bytes, and with follow=true it keeps streaming until
// the container ends.
func (n *Node) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	var pod corev1.Pod
	if err := n.Client.Get(r.Context(), client.ObjectKey{Namespace: ns, Name: name}, &pod); err != nil {
		http.Error(w, fmt.Sprintf("pod %s/%s: %v", ns, name, err), http.StatusNotFound)
		return
	}
	n.streamLog(w, r, pod.UID, container)
}

// streamLog answers with one container's log, by the query's tailLines, limitBytes and follow.
func (n *Node) streamLog(w http.ResponseWriter, r *http.Request, uid types.UID, container string) {
	f, err := os.Open(n.logPath(uid, container))
	if err != nil {
		http.Error(w, fmt.Sprintf("container %q has no log on node %s (not started yet?)", container, n.Name), http.StatusNotFound)
		return
	}
	defer f.Close()
	q := r.URL.Query()
	if tail := q.Get("tailLines"); tail != "" {
		lines, err := strconv.Atoi(tail)
		if err != nil || lines < 0 {
			http.Error(w, "tailLines must be a non-negative integer", http.StatusBadRequest)
			return
		}
		if err := seekLastLines(f, lines); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	var out io.Writer = w
	if limit := q.Get("limitBytes"); limit != "" {
		n, err := strconv.ParseInt(limit, 10, 64)
		if err != nil || n <= 0 {
			http.Error(w, "limitBytes must be a positive integer", http.StatusBadRequest)
			return
		}
		out = &limitWriter{w: w, left: n}
	}
	w.Header().Set("Content-Type", "text/plain")
	follow := q.Get("follow") == "true"
	flusher, _ := w.(http.Flusher)
	for {
		if _, err := io.Copy(out, f); err != nil {
			return // the client went away, or limitBytes is reached
		}
		if flusher != nil {
			flusher.Flush()
		}
		if !follow {
			return
		}
		if !n.containerRunning(uid, container) {
			_, _ = io.Copy(out, f) // what it wrote as it ended
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-n.clk().After(200 * time.Millisecond):
		}
	}
}

func (n *Node) logPath(uid types.UID, container string) string {
	return filepath.Join(n.DataDir, "pods", string(uid), "logs", filepath.Base(container)+".log")
}

// containerRunning says whether the container's process is alive on this node.
func (n *Node) containerRunning(uid types.UID, container string) bool {
	n.mu.Lock()
	r := n.running[uid]
	n.mu.Unlock()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.procs[container]
	return ok
}

// seekLastLines positions f at the start of its last n lines (a partial last line counts).
func seekLastLines(f *os.File, n int) error {
	var starts []int64 // where each line starts
	var pos int64
	rd := bufio.NewReader(f)
	for {
		line, err := rd.ReadBytes('\n')
		if len(line) > 0 {
			starts = append(starts, pos)
			pos += int64(len(line))
		}
		if err != nil {
			break
		}
	}
	start := pos
	if n > 0 {
		start = 0
		if n < len(starts) {
			start = starts[len(starts)-n]
		}
	}
	_, err := f.Seek(start, io.SeekStart)
	return err
}

type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	k, err := l.w.Write(p)
	l.left -= int64(k)
	return k, err
}

// selfSigned makes the endpoint's serving certificate for 127.0.0.1.
func selfSigned(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "prowl-local-node"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
