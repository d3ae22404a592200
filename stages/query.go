package stages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itchyny/gojq"
	"github.com/segmentio/encoding/json"
)

// QueryBudget is how long a Query may run on one record: a program that
// loops, or a body that makes it slow, fails that record, not the run.
const QueryBudget = time.Second

// A Query is a jq program, parsed and compiled once, to run on the JSON
// body of each record: to keep only the part of an answer a run needs
// (".data.children[].data.title"), and so what travels on, however large
// the answers. It is gojq's jq, which sorts object keys in what it makes
// and words some errors otherwise than jq does. Memory is not bounded by
// it: a program that builds a huge value builds it.
type Query struct {
	src  string
	code *gojq.Code
}

// ParseQuery parses and compiles the jq program src, or says why not.
func ParseQuery(src string) (*Query, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("jq program %q: %w", src, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fmt.Errorf("jq program %q: %w", src, err)
	}
	return &Query{src: src, code: code}, nil
}

// String returns the program as given.
func (q *Query) String() string { return q.src }

// Apply runs q on r's body, if it is JSON (Format JSON, after Decode or
// WithDecode), whether r is ok or failed with a JSON body (the error a
// server explained). The result replaces the body: one value as it is,
// several as an array, none as null. A jq error, a program over its
// QueryBudget, or a panic makes an ok record a decode record whose
// message holds the error, its body left as it came; a failed record
// keeps its kind, and its message gains the error. Safe for concurrent
// use: a Query may run in many workers at once.
func (q *Query) Apply(ctx context.Context, r *Record) {
	if r.Format != JSON || r.Body == nil {
		return
	}
	out, err := q.run(ctx, r.Body)
	if err != nil {
		msg := "jq " + q.src + ": " + err.Error()
		if r.Err == nil {
			r.Err = newError(KindDecode, msg)
		} else {
			r.Err = causedBy(r.Err.Kind, r.Err.Message+"; "+msg, r.Err.Err)
		}
		return
	}
	r.Body = out
}

func (q *Query) run(ctx context.Context, body []byte) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // big integers keep their digits
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, QueryBudget)
	defer cancel()
	var results []any
	iter := q.code.RunWithContext(ctx, v)
	for {
		x, ok := iter.Next()
		if !ok {
			break
		}
		if err, isErr := x.(error); isErr {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("ran longer than %v", QueryBudget)
			}
			return nil, err
		}
		results = append(results, x)
	}
	var result any
	switch len(results) {
	case 0:
	case 1:
		result = results[0]
	default:
		result = results
	}
	return gojq.Marshal(result)
}

// WithQuery makes Fetch run q on each record's JSON body in its workers,
// after WithDecode(JSON), which it needs (see Query.Apply).
func WithQuery(q *Query) Option {
	if q == nil {
		panic("stages.WithQuery: nil Query")
	}
	return set(optQuery, func(s *settings) { s.query = q })
}
