package main

import "bytes"

// recordScanner counts the records of an NDJSON stream of fetchpipe's, and
// those whose top-level "error" is present and not null, as the stream
// goes past, keeping nothing of it: a million records of 2 KB each are
// two gigabytes the bench must neither store nor parse whole.
//
// It reads each record's top-level keys until "body", which
// stages.Record.AppendJSON writes last, and skips the body, whatever it
// holds, to the end of the line: one-line JSON has no raw newline but the
// one that ends it. A record without a body is read to its end.
type recordScanner struct {
	records, errors int64
	onRecord        func(records int64) // after each record, when set

	depth     int
	inString  bool
	escaped   bool
	readKey   bool   // the string being read is a top-level key
	key       []byte // the last top-level key, once read
	wantKey   bool   // at depth 1, after '{' or ','
	wantValue bool   // at depth 1, after ':'
	failed    bool   // this record's "error" is not null
	skipLine  bool   // the rest of the line is the body
}

func (s *recordScanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if s.skipLine {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return n, nil
			}
			p = p[i:]
			s.skipLine = false
		}
		c := p[0]
		p = p[1:]
		if c == '\n' {
			s.endRecord()
			continue
		}
		if s.inString {
			switch {
			case s.escaped:
				s.escaped = false
			case c == '\\':
				s.escaped = true
			case c == '"':
				s.inString = false
				if s.readKey {
					s.readKey = false
					continue
				}
			}
			if s.readKey {
				s.key = append(s.key, c)
			}
			continue
		}
		if c == ' ' || c == '\t' || c == '\r' {
			continue
		}
		if s.wantValue {
			// The first byte of a top-level value.
			s.wantValue = false
			switch string(s.key) {
			case "error":
				s.failed = c != 'n'
			case "body":
				s.skipLine = true
				continue
			}
		}
		switch c {
		case '"':
			s.inString = true
			if s.depth == 1 && s.wantKey {
				s.wantKey, s.readKey = false, true
				s.key = s.key[:0]
			}
		case '{', '[':
			s.depth++
			if s.depth == 1 {
				s.wantKey = true
			}
		case '}', ']':
			s.depth--
		case ',':
			if s.depth == 1 {
				s.wantKey = true
			}
		case ':':
			if s.depth == 1 {
				s.wantValue = true
			}
		}
	}
	return n, nil
}

// endRecord counts the record that a newline ended and starts afresh.
func (s *recordScanner) endRecord() {
	s.records++
	if s.failed {
		s.errors++
	}
	*s = recordScanner{records: s.records, errors: s.errors, onRecord: s.onRecord, key: s.key[:0]}
	if s.onRecord != nil {
		s.onRecord(s.records)
	}
}
