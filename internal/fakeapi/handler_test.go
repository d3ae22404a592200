package fakeapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestResponses covers every answer that completes: one request, one
// response, checked on status, headers and body.
func TestResponses(t *testing.T) {
	t.Parallel()
	s, c := start(t, Config{Seed: 42})
	plain := func(name string) []byte {
		_, body := mustGet(t, c, s.URL()+"/r/"+name+".json")
		return body
	}

	tests := []struct {
		name       string
		path       string
		header     http.Header
		wantStatus int
		wantType   string
		check      func(t *testing.T, resp *http.Response, body []byte)
	}{
		{
			name: "listing", path: "/r/golang.json", wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, resp *http.Response, body []byte) {
				doc := decodeListing(t, body)
				if doc.Data.Dist != defaultPosts || doc.Data.Children[0].Data.Subreddit != "golang" {
					t.Errorf("dist %d, subreddit %q", doc.Data.Dist, doc.Data.Children[0].Data.Subreddit)
				}
				if !bytes.Equal(body, plain("golang")) {
					t.Error("same name, different body")
				}
				if bytes.Equal(body, plain("rust")) {
					t.Error("different names, same body")
				}
				if bytes.Contains(body, []byte("\n")) {
					t.Error("compact listing has newlines")
				}
			},
		},
		{
			name: "escaped name", path: `/r/a%22b%5Cc.json`, wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if got := decodeListing(t, body).Data.Children[0].Data.Subreddit; got != `a"b\c` {
					t.Errorf("subreddit %q", got)
				}
			},
		},
		{
			name: "pretty", path: "/r/golang.json?pretty=1", wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if bytes.Count(body, []byte("\n")) < 10 {
					t.Errorf("pretty body has few lines:\n%s", body)
				}
				var compact bytes.Buffer
				if err := json.Compact(&compact, body); err != nil || !bytes.Equal(compact.Bytes(), plain("golang")) {
					t.Errorf("pretty body is not the listing indented (err %v)", err)
				}
			},
		},
		{
			name: "unicode", path: "/r/golang.json?unicode=1&bytes=3600", wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if !json.Valid(body) || !utf8.Valid(body) || len(body) != 3600 {
					t.Fatalf("want 3,600 bytes of valid JSON in UTF-8, got %d:\n%s", len(body), body)
				}
				ascii := 0
				for _, c := range body {
					if c < utf8.RuneSelf {
						ascii++
					}
				}
				if ascii > len(body)*9/10 {
					t.Errorf("%d of %d bytes are ASCII; want more text in other scripts", ascii, len(body))
				}
			},
		},
		{
			name: "status with retry-after", path: "/r/golang.json?status=429&retry_after=2", wantStatus: 429, wantType: "application/json",
			check: func(t *testing.T, resp *http.Response, body []byte) {
				if got := resp.Header.Get("Retry-After"); got != "2" {
					t.Errorf("Retry-After %q, want 2", got)
				}
				if string(body) != `{"error":"too many requests"}` {
					t.Errorf("body %s", body)
				}
			},
		},
		{
			name: "retry-after date passes through", path: "/r/golang.json?status=503&retry_after=Wed,+21+Oct+2015+07:28:00+GMT", wantStatus: 503,
			check: func(t *testing.T, resp *http.Response, _ []byte) {
				if got := resp.Header.Get("Retry-After"); got != "Wed, 21 Oct 2015 07:28:00 GMT" {
					t.Errorf("Retry-After %q", got)
				}
			},
		},
		{
			name: "bytes", path: "/r/golang.json?bytes=2048", wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if n := len(body); n < 2048*9/10 || n > 2048*11/10 {
					t.Errorf("%d bytes, want 2048 ± 10%%", n)
				}
				decodeListing(t, body)
			},
		},
		{
			name: "gzip, transparently decoded", path: "/r/golang.json?gzip=1", wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, resp *http.Response, body []byte) {
				if !resp.Uncompressed {
					t.Error("transport did not see a gzip body")
				}
				if !bytes.Equal(body, plain("golang")) {
					t.Error("gzip body differs from the plain one")
				}
			},
		},
		{
			name: "gzip, decoded by hand", path: "/r/golang.json?gzip=1", header: http.Header{"Accept-Encoding": {"gzip"}},
			wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, resp *http.Response, body []byte) {
				if resp.Header.Get("Content-Encoding") != "gzip" {
					t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				plainBody, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(plainBody, plain("golang")) {
					t.Errorf("gunzipped body differs from the plain one (err %v)", err)
				}
			},
		},
		{
			name: "gzip not accepted", path: "/r/golang.json?gzip=1", header: http.Header{"Accept-Encoding": {"identity"}},
			wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, resp *http.Response, body []byte) {
				if resp.Header.Get("Content-Encoding") != "" || !json.Valid(body) {
					t.Errorf("Content-Encoding %q for a client that refused gzip", resp.Header.Get("Content-Encoding"))
				}
			},
		},
		{
			name: "html", path: "/r/golang.json?format=html", wantStatus: 200, wantType: "text/html; charset=utf-8",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if json.Valid(body) || !bytes.HasPrefix(body, []byte("<!DOCTYPE html>")) {
					t.Errorf("body is not an HTML page:\n%s", body)
				}
			},
		},
		{
			name: "bad json", path: "/r/golang.json?format=badjson", wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if json.Valid(body) {
					t.Errorf("body is valid JSON: %s", body)
				}
			},
		},
		{
			name: "redirect chain ends in a listing", path: "/r/golang.json?redirect=2&pretty=1", wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, resp *http.Response, body []byte) {
				if q := resp.Request.URL.Query(); q.Get("redirect") != "0" || q.Get("pretty") != "1" {
					t.Errorf("final URL %s", resp.Request.URL)
				}
				decodeListing(t, body)
			},
		},
		{
			name: "bomb", path: "/r/golang.json?bomb=1000000", wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, resp *http.Response, body []byte) {
				if !resp.Uncompressed || len(body) != 1000000 || !json.Valid(body) {
					t.Errorf("uncompressed %v, %d bytes, valid %v; want a 1000000-byte JSON string",
						resp.Uncompressed, len(body), json.Valid(body))
				}
			},
		},
		{
			name: "not found", path: "/nope", wantStatus: 404, wantType: "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if string(body) != `{"error":"not found"}` {
					t.Errorf("body %s", body)
				}
			},
		},
		{name: "name with slash", path: "/r/a/b.json", wantStatus: 404},
		{name: "empty name", path: "/r/.json", wantStatus: 404},
		{
			name: "bad parameter", path: "/r/golang.json?latency=soon", wantStatus: 400, wantType: "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if !bytes.Contains(body, []byte("latency")) || !json.Valid(body) {
					t.Errorf("body %s does not name the parameter", body)
				}
			},
		},
		{name: "status out of range", path: "/r/golang.json?status=99", wantStatus: 400},
		{name: "unknown parameter ignored", path: "/r/golang.json?cachebust=123", wantStatus: 200},
		{
			name: "stats", path: "/stats", wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				var st Stats
				if err := json.Unmarshal(body, &st); err != nil {
					t.Errorf("stats body %s: %v", body, err)
				}
			},
		},
		{name: "reset needs POST", path: "/stats/reset", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body, err := get(t.Context(), c, s.URL()+tt.path, tt.header)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantType != "" && resp.Header.Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.wantType)
			}
			if tt.check != nil {
				tt.check(t, resp, body)
			}
		})
	}
}

// TestFail checks that fail=N counts attempts per id: each id fails its
// first N times and then succeeds, whatever other ids are doing.
func TestFail(t *testing.T) {
	t.Parallel()
	s, c := start(t, Config{})
	tests := []struct {
		name  string
		query string
		want  []int
	}{
		{"two failures", "fail=2&id=a", []int{503, 503, 200, 200}},
		{"other id is independent", "fail=1&id=b", []int{503, 200}},
		{"custom status", "fail=1&id=c&status=500", []int{500, 200}},
		{"id defaults to path", "fail=1", []int{503, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for i, want := range tt.want {
				resp, _ := mustGet(t, c, s.URL()+"/r/"+tt.name+".json?"+tt.query)
				if resp.StatusCode != want {
					t.Fatalf("attempt %d: status %d, want %d", i+1, resp.StatusCode, want)
				}
			}
		})
	}

	t.Run("reset forgets attempts", func(t *testing.T) {
		// Not parallel: it runs after the cases above and resets the
		// handler they share.
		url := s.URL() + "/r/again.json?fail=1&id=again"
		for _, want := range []int{503, 200} {
			if resp, _ := mustGet(t, c, url); resp.StatusCode != want {
				t.Fatalf("status %d, want %d", resp.StatusCode, want)
			}
		}
		s.Handler().Reset()
		if resp, _ := mustGet(t, c, url); resp.StatusCode != 503 {
			t.Fatalf("after Reset: status %d, want 503", resp.StatusCode)
		}
	})
}

// TestLatency asserts only lower bounds: a loaded machine may be late, never
// early.
func TestLatency(t *testing.T) {
	t.Parallel()
	const d = 150 * time.Millisecond
	tests := []struct {
		name string
		cfg  Config
		path string
	}{
		{"query", Config{}, "/r/golang.json?latency=150ms"},
		{"config", Config{Latency: Latency{Min: d, Max: d}}, "/r/golang.json"},
		{"query overrides config", Config{Latency: Latency{Min: time.Hour, Max: time.Hour}}, "/r/golang.json?latency=150ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := start(t, tt.cfg)
			begin := time.Now()
			resp, _ := mustGet(t, c, s.URL()+tt.path)
			if took := time.Since(begin); took < d || resp.StatusCode != 200 {
				t.Errorf("status %d after %v, want 200 after at least %v", resp.StatusCode, took, d)
			}
		})
	}
}

func TestLoopRedirect(t *testing.T) {
	t.Parallel()
	s, c := start(t, Config{})
	_, _, err := get(t.Context(), c, s.URL()+"/r/golang.json?loop=1", nil)
	if err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("err = %v, want the client to give up on redirects", err)
	}
	if got := s.Handler().Stats().ByStatus[http.StatusFound]; got != 10 {
		t.Errorf("%d redirects served, want the client's limit of 10", got)
	}
}
