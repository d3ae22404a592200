package stages

import (
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
	lit    string
	escape bool // the placeholder after lit is {} rather than {raw}
	hole   bool // lit is followed by a placeholder
}

func parseTemplate(t string) template {
	var tp template
	for t != "" {
		i := strings.IndexByte(t, '{')
		switch {
		case i < 0:
			tp.parts = append(tp.parts, tmplPart{lit: t})
			t = ""
		case strings.HasPrefix(t[i:], "{}"):
			tp.parts = append(tp.parts, tmplPart{lit: t[:i], hole: true, escape: true})
			t = t[i+2:]
		case strings.HasPrefix(t[i:], "{raw}"):
			tp.parts = append(tp.parts, tmplPart{lit: t[:i], hole: true})
			t = t[i+5:]
		default: // a brace that is not a placeholder is literal text
			tp.parts = append(tp.parts, tmplPart{lit: t[:i+1]})
			t = t[i+1:]
		}
	}
	for _, p := range tp.parts {
		tp.size += len(p.lit)
	}
	return tp
}

func (tp template) fill(line string) string {
	if tp.parts == nil {
		return line
	}
	var b strings.Builder
	b.Grow(tp.size + 2*len(line))
	var escaped string
	for _, p := range tp.parts {
		b.WriteString(p.lit)
		switch {
		case !p.hole:
		case p.escape:
			if escaped == "" {
				escaped = url.PathEscape(line)
			}
			b.WriteString(escaped)
		default:
			b.WriteString(line)
		}
	}
	return b.String()
}
