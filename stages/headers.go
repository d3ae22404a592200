package stages

import (
	"fmt"
	"net/http"
	"path"
	"strings"
)

// WithResponseHeaders makes Fetch keep, in each record's Header, the
// response headers whose names match one of patterns, in any case:
// "Link", "ETag", "X-RateLimit-*" (a * matches any run of characters).
// Fetch keeps no header without it, so that records stay small. Panics
// on a pattern that is not one.
func WithResponseHeaders(patterns ...string) Option {
	lower := make([]string, len(patterns))
	for i, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if _, err := path.Match(p, ""); err != nil || p == "" || strings.ContainsAny(p, "/[\\\\") {
			panic(fmt.Sprintf("stages.WithResponseHeaders: %q is not a header name or a pattern with *", patterns[i]))
		}
		lower[i] = p
	}
	return set(optResponseHeaders, func(s *settings) { s.responseHeaders = append(s.responseHeaders, lower...) })
}

// keptHeaders returns the headers of h that patterns ask for, or nil.
func keptHeaders(h http.Header, patterns []string) http.Header {
	var kept http.Header
	for name, values := range h {
		lower := strings.ToLower(name)
		for _, p := range patterns {
			if ok, _ := path.Match(p, lower); ok {
				if kept == nil {
					kept = make(http.Header)
				}
				kept[name] = values
				break
			}
		}
	}
	return kept
}
