package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServeFakeLoadFlags runs serve-fake with each load flag and checks
// the answers a client gets, and the summary on the way out.
func TestServeFakeLoadFlags(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		probe       string        // a second request, sent while a first is held
		wantStatus  int           // its status
		retryAfter  string        // its Retry-After
		minElapsed  time.Duration // how long it must have taken, at least
		wantSummary string
		wantLoad    string // what its first lines say of the load flags
	}{
		{"capacity with retry-after", []string{"--capacity", "1", "--capacity-retry-after", "1"},
			"/r/golang.json", 429, "1", 0, "at most 1 at once, refused 1 over capacity\n",
			"under load, it answers 429 at once (Retry-After: 1) to a request that finds 1 in flight\n"},
		{"capacity without retry-after", []string{"--capacity", "1"},
			"/r/golang.json", 429, "", 0, "at most 1 at once, refused 1 over capacity\n",
			"under load, it answers 429 at once (no Retry-After) to a request that finds 1 in flight\n"},
		// One other in flight and --load-latency 1 double the latency.
		{"load-latency", []string{"--load-latency", "1"},
			"/r/golang.json?latency=100ms", 200, "", 200 * time.Millisecond, "at most 2 at once\n",
			"under load, a request that finds k others in flight takes its latency × (1 + k/1)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, stop := context.WithCancel(t.Context())
			defer stop()
			var stderr syncBuffer
			var wg sync.WaitGroup
			defer wg.Wait()
			defer stop()
			code := make(chan int, 1)
			wg.Go(func() {
				code <- run(ctx, append([]string{"serve-fake", "--addr", "127.0.0.1:0"}, tt.args...),
					env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr})
			})
			base := listeningOn(t, &stderr)

			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			heldCtx, release := context.WithCancel(ctx)
			defer release()
			held := make(chan error, 1)
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(heldCtx, http.MethodGet, base+"/r/held.json?hang=1", nil)
				resp, err := c.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				held <- err
			})
			waitFor(t, "the request in flight", func() bool { return strings.Contains(getBody(t, c, base+"/stats"), `"in_flight":1,`) })

			begin := time.Now()
			resp, err := c.Get(base + tt.probe)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// Only a lower bound: a timer never fires early.
			if elapsed := time.Since(begin); resp.StatusCode != tt.wantStatus || resp.Header.Get("Retry-After") != tt.retryAfter || elapsed < tt.minElapsed {
				t.Errorf("beside a held request: %d, Retry-After %q, after %v; want %d, %q, after %v or more",
					resp.StatusCode, resp.Header.Get("Retry-After"), elapsed, tt.wantStatus, tt.retryAfter, tt.minElapsed)
			}

			release()
			if err := <-held; err == nil {
				t.Error("the held request was answered")
			}
			stop()
			if c := <-code; c != exitOK {
				t.Errorf("exit status %d, want %d; stderr:\n%s", c, exitOK, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantSummary) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantSummary, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantLoad) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantLoad, stderr.String())
			}
		})
	}
}

func TestServeFakeLoadFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--capacity", "-1"}, "--capacity -1"},
		{[]string{"--load-latency", "-2"}, "--load-latency -2"},
		{[]string{"--workers", "-3"}, "--workers -3"},
		{[]string{"--capacity-retry-after", "1"}, "needs --capacity"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCmd(t, "", append([]string{"serve-fake", "--addr", "127.0.0.1:0"}, tt.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit status %d, stderr %q; want %d and %q", r.code, r.stderr, exitUsage, tt.want)
			}
		})
	}
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// listeningOn waits for serve-fake to say where it listens.
func listeningOn(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	var m []string
	waitFor(t, "the address it listens on", func() bool { m = listeningRE.FindStringSubmatch(stderr.String()); return m != nil })
	return m[1]
}

func getBody(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitFor polls cond until it holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}
