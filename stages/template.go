package stages

import (
	"fmt"
	"net/url"
	"strings"
)

// A template is a URL template split once into literal and placeholder
// parts, so that filling it per line is one pass with no searching.
type template struct {
	parts []tmplPart
	size  int // bytes of literal text
}

type tmplPart struct {
	lit  string
	hole bool    // lit is followed by a placeholder
	raw  bool    // the placeholder is {raw}, put in as it is
	in   urlPart // where in the URL a {} stands, which says how to escape it
}

// urlPart is a part of a URL, as far as the template's literal text says.
type urlPart uint8

const (
	inPath     urlPart = iota // a path segment, or before the template says more
	inHost                    // after "://", before the path
	inUserinfo                // in the host part, before an "@": a user or password
	inQuery                   // after "?": a key or a value
	inFragment
)

func parseTemplate(t string) template {
	var tp template
	in := inPath
	for t != "" {
		i := strings.IndexByte(t, '{')
		var p tmplPart
		switch {
		case i < 0:
			p, t = tmplPart{lit: t}, ""
		case strings.HasPrefix(t[i:], "{}"):
			p, t = tmplPart{lit: t[:i], hole: true}, t[i+2:]
		case strings.HasPrefix(t[i:], "{raw}"):
			p, t = tmplPart{lit: t[:i], hole: true, raw: true}, t[i+5:]
		default: // a brace that is not a placeholder is literal text
			p, t = tmplPart{lit: t[:i+1]}, t[i+1:]
		}
		in = advance(in, p.lit)
		p.in = in
		if p.hole && in == inHost && userinfoFollows(t) {
			p.in = inUserinfo
		}
		tp.parts = append(tp.parts, p)
		tp.size += len(p.lit)
	}
	return tp
}

// userinfoFollows reports whether the template text after a placeholder
// in the host part has an "@" before the host part ends: the placeholder
// is then a user name or password (https://{}@api.example.com/).
func userinfoFollows(rest string) bool {
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	return strings.Contains(rest[:end], "@")
}

// advance returns the part of the URL that follows lit, from the part in.
func advance(in urlPart, lit string) urlPart {
	for i := 0; i < len(lit); i++ {
		switch c := lit[i]; {
		case in == inFragment:
			return in
		case c == '#':
			in = inFragment
		case in == inQuery:
		case c == '?':
			in = inQuery
		case in == inPath && strings.HasPrefix(lit[i:], "://"):
			in, i = inHost, i+2
		case in == inHost && c == '/':
			in = inPath
		}
	}
	return in
}

// fill puts line into the template, each {} escaped for the part of the
// URL it stands in, so that a line can never change the URL's shape: in a
// path segment, a "/" is escaped and "." or ".." are refused, since they
// would move up the path; in a query, "&", "=", "+" and "#" are escaped,
// so a line is one key or value; in the host, a line must be a host name
// or host:port, so that "evil.com@x" cannot name another host; in the
// user info before an "@", everything that could end it is escaped. {raw}
// puts the line in as it is; a template that is only {} escapes a whole
// URL as a path, which {raw} does not.
func (tp template) fill(line string) (string, *Error) {
	if tp.parts == nil {
		return line, nil
	}
	var b strings.Builder
	b.Grow(tp.size + 2*len(line))
	for _, p := range tp.parts {
		b.WriteString(p.lit)
		if !p.hole {
			continue
		}
		if p.raw {
			b.WriteString(line)
			continue
		}
		switch p.in {
		case inUserinfo:
			// Every character that could end the user info is escaped;
			// a space as %20, since "+" is itself there.
			b.WriteString(strings.ReplaceAll(url.QueryEscape(line), "+", "%20"))
		case inHost:
			if !validHost(line) {
				return "", newError(KindInvalidInput, fmt.Sprintf("%q is not a host name or host:port, which the template's {} stands for", line))
			}
			b.WriteString(line)
		case inQuery:
			b.WriteString(url.QueryEscape(line))
		default:
			if line == "." || line == ".." {
				return "", newError(KindInvalidInput, fmt.Sprintf("%q would move along the path, not name a part of it, where the template's {} stands", line))
			}
			b.WriteString(url.PathEscape(line))
		}
	}
	return b.String(), nil
}

// request is the Request for item line at seq: its URL, or why there is
// none.
func (tp template) request(seq int64, line string) Request {
	u, err := tp.fill(line)
	return Request{Seq: seq, Input: line, Item: ItemOf(line), URL: u, Err: err}
}

// validHost reports whether s can only be read as a host name, an IP
// address or either with a port: letters (non-ASCII ones too, for
// international names), digits, ".", "-", "_", and ":" and brackets for a
// port or an IPv6 address. Nothing that starts a user, a path, a query or
// a fragment.
func validHost(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80, 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == '_', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	// The brackets of an IPv6 address, and a port, must be where a
	// parser expects them.
	u, err := url.Parse("http://" + s + "/")
	return err == nil && u.Host == s && u.Hostname() != ""
}
