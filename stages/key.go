package stages

import "strings"

// hostKey returns the host and port of a raw URL, in lower case, with the
// scheme's default port when it names none, so that http://a and
// http://a:80 share their limits. It does not parse the URL whole: it is
// only a key for per-host limits, and an item whose URL does not parse
// fails when its request is made.
func hostKey(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return ""
	}
	rest := raw[i+3:]
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	if strings.LastIndexByte(rest, ':') <= strings.LastIndexByte(rest, ']') { // no port
		switch strings.ToLower(raw[:i]) {
		case "http":
			rest += ":80"
		case "https":
			rest += ":443"
		}
	}
	return strings.ToLower(rest)
}
