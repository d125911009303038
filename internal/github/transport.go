package github

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// etagCache makes GETs conditional: it remembers each response's ETag and body, sends
// If-None-Match, and answers a 304 with the remembered body. GitHub does not count a 304 against
// the rate limit. Responses are kept per URL and credential, at most maxEntries of them (the
// oldest half is dropped when full). Written by hand: the HTTP caching libraries cache by
// freshness, which GitHub's API responses do not allow, not by revalidation alone.
type etagCache struct {
	next       http.RoundTripper
	maxEntries int

	mu      sync.Mutex
	entries map[string]*cached
	order   []string
}

type cached struct {
	etag   string
	header http.Header
	body   []byte
}

func (c *etagCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" {
		return c.next.RoundTrip(req)
	}
	key := req.Header.Get("Authorization") + " " + req.URL.String()
	c.mu.Lock()
	entry := c.entries[key]
	c.mu.Unlock()
	if entry != nil {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", entry.etag)
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified && entry != nil {
		_ = resp.Body.Close()
		header := entry.header.Clone()
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used"} {
			if v := resp.Header.Get(h); v != "" {
				header.Set(h, v)
			}
		}
		header.Set("X-From-Cache", "1")
		return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: header, Body: io.NopCloser(bytes.NewReader(entry.body)), ContentLength: int64(len(entry.body)), Request: req}, nil
	}
	if etag := resp.Header.Get("ETag"); resp.StatusCode == http.StatusOK && etag != "" {
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		c.store(key, &cached{etag: etag, header: resp.Header.Clone(), body: body})
	}
	return resp, nil
}

func (c *etagCache) store(key string, e *cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*cached{}
	}
	if _, ok := c.entries[key]; !ok {
		if len(c.order) >= c.maxEntries {
			for _, k := range c.order[:len(c.order)/2] {
				delete(c.entries, k)
			}
			c.order = append([]string(nil), c.order[len(c.order)/2:]...)
		}
		c.order = append(c.order, key)
	}
	c.entries[key] = e
}

// retrier retries a request on a network error, a 5xx, and on a rate limit (403 or 429 with
// Retry-After, or with X-RateLimit-Remaining 0), with exponential backoff for the first two and
// until Retry-After or X-RateLimit-Reset for the third, never waiting longer than maxWait at once.
type retrier struct {
	next    http.RoundTripper
	retries int
	backoff time.Duration
	maxWait time.Duration
	clock   clock.Clock
	onRetry func(reason string)
}

func (r *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	backoff := r.backoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.Body != nil && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		resp, err := r.next.RoundTrip(req)
		if attempt >= r.retries {
			return resp, err
		}
		wait, reason := backoff, ""
		switch {
		case err != nil:
			if req.Context().Err() != nil {
				return nil, err
			}
			reason = "network error"
		case resp.StatusCode >= 500:
			reason = "server error " + strconv.Itoa(resp.StatusCode)
		case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests:
			if d, ok := r.rateLimitWait(resp); ok {
				wait, reason = d, "rate limited"
			}
		}
		if reason == "" {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		if wait > r.maxWait {
			wait = r.maxWait
		}
		if r.onRetry != nil {
			r.onRetry(reason)
		}
		if err := sleep(req.Context(), r.clock, wait); err != nil {
			return nil, err
		}
		if reason != "rate limited" {
			backoff *= 2
		}
	}
}

// rateLimitWait says how long a rate-limited response asks to wait, and whether it is one.
func (r *retrier) rateLimitWait(resp *http.Response) (time.Duration, bool) {
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil {
			return time.Duration(secs) * time.Second, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			d := time.Unix(reset, 0).Sub(r.clock.Now())
			return max(d, 0) + time.Second, true
		}
		return r.backoff, true
	}
	return 0, false
}

// sleep waits d on clk, or until ctx ends.
func sleep(ctx context.Context, clk clock.Clock, d time.Duration) error {
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
