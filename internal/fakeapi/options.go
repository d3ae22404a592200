package fakeapi

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// maxBytes bounds bytes= so that a typo cannot make the server build a
// gigabyte in memory. Use bomb= to test huge bodies; it streams.
const maxBytes = 64 << 20

// options are one /r/ request's overrides, read from its query. The zero value
// means "no overrides", and a request without a query never parses anything.
type options struct {
	latency    time.Duration
	hasLatency bool

	hang, loop, trickle, reset, pretty, gzip, unicode bool

	fail       int
	id         string
	status     int
	retryAfter string
	redirect   int
	format     string
	bomb       int64
	hasBomb    bool
	bytes      int
}

// parseOptions reads raw (a URL's RawQuery). Unknown parameters are ignored,
// so callers may add cache-busters; a known one with a bad value is an error
// naming it, because a test that misspells its own fault would otherwise pass
// for the wrong reason.
func parseOptions(raw string) (options, error) {
	var o options
	if raw == "" {
		return o, nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return o, fmt.Errorf("parse query %q: %v", raw, err)
	}
	for key, vals := range q {
		v := vals[len(vals)-1]
		if err := o.set(key, v); err != nil {
			return o, fmt.Errorf("query parameter %s=%q: %v", key, v, err)
		}
	}
	return o, nil
}

func (o *options) set(key, v string) error {
	var err error
	switch key {
	case "latency":
		o.hasLatency = true
		o.latency, err = time.ParseDuration(v)
		if err == nil && o.latency < 0 {
			err = fmt.Errorf("negative")
		}
	case "hang":
		o.hang, err = strconv.ParseBool(v)
	case "loop":
		o.loop, err = strconv.ParseBool(v)
	case "trickle":
		o.trickle, err = strconv.ParseBool(v)
	case "reset":
		o.reset, err = strconv.ParseBool(v)
	case "pretty":
		o.pretty, err = strconv.ParseBool(v)
	case "gzip":
		o.gzip, err = strconv.ParseBool(v)
	case "unicode":
		o.unicode, err = strconv.ParseBool(v)
	case "fail":
		o.fail, err = atoiRange(v, 0, 1<<30)
	case "id":
		o.id = v
	case "status":
		// 1xx would be sent as an informational response and the handler
		// would then owe a final one; below 200 is never what a test means.
		o.status, err = atoiRange(v, 200, 599)
	case "retry_after":
		o.retryAfter = v
	case "redirect":
		o.redirect, err = atoiRange(v, 0, 1<<30)
	case "format":
		if v != "html" && v != "badjson" && v != "json" {
			err = fmt.Errorf("want html, badjson or json")
		}
		o.format = v
	case "bomb":
		o.hasBomb = true
		o.bomb, err = strconv.ParseInt(v, 10, 64)
		if err == nil && o.bomb < 0 {
			err = fmt.Errorf("negative")
		}
	case "bytes":
		o.bytes, err = atoiRange(v, 0, maxBytes)
	}
	return err
}

// words is the word list a listing's titles and selftext are drawn from.
func (o *options) words() *[128]string {
	if o.unicode {
		return &worldWords
	}
	return &titleWords
}

func atoiRange(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("want %d to %d", lo, hi)
	}
	return n, nil
}
