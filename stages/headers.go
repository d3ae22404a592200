package stages

import (
	"cmp"
	"fmt"
	"net/http"
	"path"
	"strings"
)

// WithResponseHeaders makes Fetch keep, in each record's Header, the
// response headers whose names match one of patterns, in any case:
// "Link", "ETag", "X-RateLimit-*" (a * matches any run of characters).
// A header a name asks for is kept under that name as written ("ETag");
// one a pattern matches, under Go's canonical form ("X-Ratelimit-Reset").
// Fetch keeps no header without it, so that records stay small. Panics
// on a pattern that is not one.
func WithResponseHeaders(patterns ...string) Option {
	kept := make([]headerPattern, len(patterns))
	for i, p := range patterns {
		p = strings.TrimSpace(p)
		lower := strings.ToLower(p)
		if _, err := path.Match(lower, ""); err != nil || p == "" || strings.ContainsAny(p, `/[\`) {
			panic(fmt.Sprintf("stages.WithResponseHeaders: %q is not a header name or a pattern with *", patterns[i]))
		}
		kept[i] = headerPattern{lower: lower, name: p}
		if strings.Contains(p, "*") {
			kept[i].name = ""
		}
	}
	return set(optResponseHeaders, func(s *settings) { s.responseHeaders = append(s.responseHeaders, kept...) })
}

// A headerPattern is a header name or pattern of WithResponseHeaders.
type headerPattern struct {
	lower string // lower case, to match
	name  string // the name as written, to keep the header under; "" for a pattern
}

// keptHeaders returns the headers of h that patterns ask for, or nil.
func keptHeaders(h http.Header, patterns []headerPattern) http.Header {
	var kept http.Header
	for name, values := range h {
		lower := strings.ToLower(name)
		for _, p := range patterns {
			if ok, _ := path.Match(p.lower, lower); ok {
				if kept == nil {
					kept = make(http.Header)
				}
				kept[cmp.Or(p.name, name)] = values
				break
			}
		}
	}
	return kept
}
