package stages

import (
	"net/url"
	"testing"
	"time"
)

func TestHostKey(t *testing.T) {
	tests := []struct{ url, key string }{
		{"http://Example.com/x", "example.com:80"},
		{"http://example.com:80/x", "example.com:80"},
		{"https://example.com?q", "example.com:443"},
		{"https://user:pw@example.com:8443/", "example.com:8443"},
		{"http://[::1]/", "[::1]:80"},
		{"http://[::1]:8080/", "[::1]:8080"},
		{"ftp://example.com/", "example.com"},
		{"no scheme", ""},
	}
	for _, tt := range tests {
		if got := hostKey(tt.url); got != tt.key {
			t.Errorf("hostKey(%q) = %q, want %q", tt.url, got, tt.key)
		}
	}
}

func TestRetryArithmetic(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"3", 3 * time.Second},
		{"99999999999999999999", maxBackoff},
		{"Wed, 25 Nov 2026 12:00:10 GMT", 10 * time.Second},
		{"Wed, 25 Nov 2026 11:59:00 GMT", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.header, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
	// Backoff stays within its cap, whatever the attempt and the cap.
	for _, n := range []int{1, 2, 10, 29, 30, 63, 1000} {
		for _, limit := range []time.Duration{0, time.Second, 1<<63 - 1} {
			if got := backoff(n, 0, limit); got < 0 || got > min(limit, maxBackoff) {
				t.Errorf("backoff(%d, 0, %v) = %v", n, limit, got)
			}
		}
	}
	if got := backoff(1, time.Hour, time.Minute); got != time.Minute {
		t.Errorf("a Retry-After over the cap waits %v, want the cap", got)
	}
}

// TestSameOrigin: an origin is a scheme, a host name in any case, and a
// port, the scheme's default when none is written; a redirect that
// changes any of them keeps the request's credentials home.
func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"http://h/a", "http://h/b?q", true},
		{"http://H/a", "http://h:80/b", true},
		{"https://h/", "https://h:443/", true},
		{"https://h/", "http://h/", false}, // down to plain http
		{"http://h/", "https://h/", false}, // an upgrade: another port, too
		{"http://h:8080/", "http://h:8081/", false},
		{"http://h/", "http://h.evil/", false},
		{"http://a.h/", "http://h/", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+" "+tt.b, func(t *testing.T) {
			a, _ := url.Parse(tt.a)
			b, _ := url.Parse(tt.b)
			if got := sameOrigin(a, b); got != tt.same {
				t.Errorf("sameOrigin = %v, want %v", got, tt.same)
			}
		})
	}
}

// TestIdleCap: idle connections are capped overall so that, with those in
// use, the two transports' stay within the open-file limit; never 0, which
// net/http reads as no cap at all.
func TestIdleCap(t *testing.T) {
	tests := []struct{ concurrency, limit, want int }{
		{50, 0, 50},          // limit unknown: as many as may be in use
		{50, 20000, 50},      // plenty of room
		{6000, 20000, 6000},  // room for both
		{10000, 20000, 4968}, // half what the limit leaves
		{19936, 20000, 1},    // none left: one, not "no cap"
	}
	for _, tt := range tests {
		if got := idleCap(tt.concurrency, tt.limit); got != tt.want {
			t.Errorf("idleCap(%d, %d) = %d, want %d", tt.concurrency, tt.limit, got, tt.want)
		}
	}
}
