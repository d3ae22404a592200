package stages

import "bytes"

// A Parser makes the Request of one input item as the sources of this
// package make it of a line they read, with the same URL, the same
// identity and the same invalid_input errors: for a source of another
// kind, such as a message queue, whose items must be the same requests.
// A Parser is safe for concurrent use.
type Parser struct {
	tmpl     template
	specs    bool
	maxDepth int
}

// LineParser returns a Parser of items that are URLs, or values put into a
// template, as Lines reads them.
//
// Options: WithTemplate.
func LineParser(opts ...Option) *Parser {
	s := newSettings("LineParser", optTemplate, opts)
	return &Parser{tmpl: parseTemplate(s.template)}
}

// SpecParser returns a Parser of items that are JSON request specs, as
// Specs reads them.
//
// Options: WithMaxDepth.
func SpecParser(opts ...Option) *Parser {
	s := newSettings("SpecParser", optMaxDepth, opts)
	return &Parser{specs: true, maxDepth: s.maxDepth}
}

// Parse returns the Request of item, whose position in the input is seq,
// trimmed of surrounding white space. An item that makes no request (a
// line the template cannot take, a malformed spec) gives a Request whose
// Err is an invalid_input Error, which Fetch passes on as the item's
// record. Parse keeps nothing of item.
func (ps *Parser) Parse(seq int64, item []byte) Request {
	item = bytes.TrimSpace(item)
	if ps.specs {
		return parseSpec(seq, item, ps.maxDepth)
	}
	return ps.tmpl.request(seq, string(item))
}
