package stages_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/encoding/json"
	"go.uber.org/goleak"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// misbehaving is a server with one path per way a response can go wrong.
func misbehaving(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"ua":%q,"x":%q}`, r.URL.Path, r.UserAgent(), r.Header.Get("X-Test"))
	})
	mux.HandleFunc("/pretty", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "{\r\n  \"a\": [1,\n 2],\n  \"b\": \"x y\"\n}\n")
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"no such thing"}`)
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!DOCTYPE html><html><body>Service temporarily unavailable</body></html>")
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/trickle", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
				w.Write([]byte(" "))
				w.(http.Flusher).Flush()
			}
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5000")
		w.Write([]byte(strings.Repeat("a", 5000)))
	})
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 10 {
			w.Write([]byte(strings.Repeat("a", 1000)))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusMovedPermanently) })
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(strings.Repeat("a", 100)))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	})
	mux.HandleFunc("/host", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "%s %s", r.Method, r.Host) })
	mux.HandleFunc("/huge-announced", func(w http.ResponseWriter, r *http.Request) {
		// A terabyte announced, two bytes sent.
		w.Header().Set("Content-Length", strconv.Itoa(1<<40))
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("{}"))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		var body strings.Builder
		fmt.Fprint(&body, r.Method, " ")
		if r.Body != nil {
			b := make([]byte, 100)
			n, _ := r.Body.Read(b)
			body.Write(b[:n])
		}
		w.Write([]byte(body.String()))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestFetchOutcomes(t *testing.T) {
	srv := misbehaving(t)
	u := srv.URL
	cases := []struct {
		url    string
		status int
		kind   stages.Kind // "" for ok
		check  func(t *testing.T, r stages.Record)
	}{
		{url: u + "/ok", status: 200, check: func(t *testing.T, r stages.Record) {
			if !strings.Contains(string(r.Body), `"ua":"fetchpipe/`) || r.Format != stages.JSON || r.Attempts != 1 {
				t.Errorf("body %s format %v attempts %d", r.Body, r.Format, r.Attempts)
			}
		}},
		{url: u + "/pretty", status: 200, check: func(t *testing.T, r stages.Record) {
			if strings.ContainsAny(string(r.Body), "\r\n") || !json.Valid(r.Body) {
				t.Errorf("body not made one line: %q", r.Body)
			}
		}},
		{url: u + "/missing", status: 404, kind: stages.KindHTTPStatus, check: func(t *testing.T, r stages.Record) {
			if string(r.Body) != `{"error":"no such thing"}` || r.Format != stages.JSON {
				t.Errorf("error body lost: %q", r.Body)
			}
			if r.Err.Message != "server answered 404 Not Found" {
				t.Errorf("message %q", r.Err.Message)
			}
		}},
		{url: u + "/html", status: 200, kind: stages.KindDecode, check: func(t *testing.T, r stages.Record) {
			if !strings.Contains(r.Err.Message, "text/html") || !strings.Contains(r.Err.Message, "<!DOCTYPE html>") || r.Format != stages.Text {
				t.Errorf("message %q, format %v", r.Err.Message, r.Format)
			}
		}},
		{url: u + "/empty", status: 204, check: func(t *testing.T, r stages.Record) {
			if r.Body != nil {
				t.Errorf("empty body kept: %q", r.Body)
			}
		}},
		{url: u + "/hang", kind: stages.KindTimeout, check: messageIs("timeout after 300ms waiting for response headers")},
		{url: u + "/trickle", status: 200, kind: stages.KindTimeout, check: messageIs("timeout after 300ms reading the body")},
		{url: u + "/big", status: 200, kind: stages.KindTooLarge, check: func(t *testing.T, r stages.Record) {
			messageIs("body of 4.9 KiB announced, larger than the 4.0 KiB cap")(t, r)
			if r.Bytes != 0 {
				t.Errorf("bytes %d, want 0: nothing was read", r.Bytes)
			}
		}},
		{url: u + "/big-chunked", status: 200, kind: stages.KindTooLarge, check: func(t *testing.T, r stages.Record) {
			messageIs("body is larger than the 4.0 KiB cap")(t, r)
			if r.Bytes <= 4096 || r.Bytes > 10000 {
				t.Errorf("bytes %d, want what was read before the cap stopped it", r.Bytes)
			}
		}},
		{url: u + "/loop", kind: stages.KindRedirect, check: func(t *testing.T, r stages.Record) {
			if !strings.Contains(r.Err.Message, "redirect loop") {
				t.Errorf("message %q", r.Err.Message)
			}
		}},
		{url: u + "/moved", status: 200, check: func(t *testing.T, r stages.Record) {
			if r.FinalURL != u+"/ok" {
				t.Errorf("final_url %q", r.FinalURL)
			}
		}},
		{url: u + "/reset", status: 200, kind: stages.KindNetwork},
		{url: "http://" + closedPort(t) + "/", kind: stages.KindConnect, check: func(t *testing.T, r stages.Record) {
			if !strings.HasPrefix(r.Err.Message, "connection refused by 127.0.0.1:") {
				t.Errorf("message %q", r.Err.Message)
			}
		}},
		{url: strings.Replace(u, "http://", "http://user:secret@", 1) + "/ok", status: 200, check: func(t *testing.T, r stages.Record) {
			if strings.Contains(r.URL, "secret") {
				t.Errorf("password not redacted: %s", r.URL)
			}
		}},
		{url: "ht!tp://x/", kind: stages.KindInvalidInput},
		{url: "ftp://example.com/f", kind: stages.KindInvalidInput, check: messageIs(`unsupported scheme "ftp" in "ftp://example.com/f": want http or https`)},
		{url: "example.com/x", kind: stages.KindInvalidInput},
		{url: "http:///x", kind: stages.KindInvalidInput},
	}
	var input strings.Builder
	for _, tc := range cases {
		input.WriteString(tc.url + "\n")
	}
	p := pipeline.New(t.Context())
	reqs := stages.Lines(p, strings.NewReader(input.String()))
	recs := stages.Decode(stages.Fetch(reqs, stages.WithConcurrency(8), stages.WithTimeout(300*time.Millisecond), stages.WithRetries(0),
		stages.WithMaxBody(4096), stages.WithInputOrder()), stages.JSON)
	got := collect(t, recs)
	if len(got) != len(cases) {
		t.Fatalf("%d records for %d inputs", len(got), len(cases))
	}
	for i, tc := range cases {
		r := got[i]
		t.Run(tc.url, func(t *testing.T) {
			if r.Seq != int64(i) {
				t.Fatalf("record %d has seq %d: not in input order", i, r.Seq)
			}
			if r.Status != tc.status {
				t.Errorf("status %d, want %d", r.Status, tc.status)
			}
			switch {
			case tc.kind == "" && r.Err != nil:
				t.Errorf("unexpected error %v", r.Err)
			case tc.kind != "" && (r.Err == nil || r.Err.Kind != tc.kind):
				t.Errorf("error %v, want kind %s", r.Err, tc.kind)
			case tc.check != nil:
				tc.check(t, r)
			}
			if line := r.AppendJSON(nil); !json.Valid(line) {
				t.Errorf("record is not valid JSON: %s", line)
			}
		})
	}
}

// TestHeadOfALargeBody: a HEAD's Content-Length describes a body that is
// not sent, so it is no reason for a too_large record.
func TestHeadOfALargeBody(t *testing.T) {
	srv := misbehaving(t)
	p := pipeline.New(t.Context())
	reqs := pipeline.FromSlice(p, []stages.Request{{URL: srv.URL + "/big", Method: http.MethodHead}})
	r := collect(t, stages.Fetch(reqs, stages.WithMaxBody(4096), stages.WithRetries(0)))[0]
	if r.Err != nil || r.Status != 200 || r.Bytes != 0 {
		t.Errorf("status %d, bytes %d, error %v; want 200, 0 and none", r.Status, r.Bytes, r.Err)
	}
}

func messageIs(want string) func(t *testing.T, r stages.Record) {
	return func(t *testing.T, r stages.Record) {
		t.Helper()
		if r.Err.Message != want {
			t.Errorf("message %q, want %q", r.Err.Message, want)
		}
	}
}

func TestFetchSendsMethodHeadersAndBody(t *testing.T) {
	srv := misbehaving(t)
	specs := fmt.Sprintf(`{"url":%q,"method":"PUT","body":"hello"}`+"\n"+`{"url":%q,"headers":{"X-Test":"spec"}}`+"\n",
		srv.URL+"/echo", srv.URL+"/ok")
	p := pipeline.New(t.Context())
	recs := collect(t, stages.Fetch(stages.Specs(p, strings.NewReader(specs)),
		stages.WithHeader("X-Test", "default"), stages.WithMethod("POST"), stages.WithInputOrder()))
	if string(recs[0].Body) != "PUT hello" {
		t.Errorf("echo got %q", recs[0].Body)
	}
	if !strings.Contains(string(recs[1].Body), `"x":"spec"`) {
		t.Errorf("spec header did not replace the default: %s", recs[1].Body)
	}
}

func TestFetchCancelYieldsCanceledRecords(t *testing.T) {
	srv := misbehaving(t)
	ctx, cancel := context.WithCancel(t.Context())
	p := pipeline.New(ctx)
	var input strings.Builder
	for range 20 {
		input.WriteString(srv.URL + "/hang\n")
	}
	recs := stages.Fetch(stages.Lines(p, strings.NewReader(input.String())), stages.WithConcurrency(4))
	time.AfterFunc(100*time.Millisecond, cancel)
	n := 0
	var runErr error
	for r, err := range pipeline.All(recs) {
		if err != nil {
			runErr = err
			break
		}
		n++
		if r.Err == nil || r.Err.Kind != stages.KindCanceled {
			t.Errorf("record %d: %v, want canceled", r.Seq, r.Err)
		}
	}
	if n == 0 || n > 20 {
		t.Errorf("%d records", n)
	}
	if n < 20 && runErr != context.Canceled {
		t.Errorf("run error %v, want context.Canceled when input was left unread", runErr)
	}
}

// TestFetchLeavesNoConnectionBehind checks that a run's own client closes its
// kept-alive connections when the run ends: their reader and writer
// goroutines, on both sides, must not outlive it.
func TestFetchLeavesNoConnectionBehind(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	before := goleak.IgnoreCurrent()
	urls := make([]string, 40)
	for i := range urls {
		urls[i] = srv.URL + fmt.Sprintf("/%d", i)
	}
	p := pipeline.New(t.Context())
	if err := stages.WriteNDJSON(stages.Fetch(stages.URLs(p, urls), stages.WithConcurrency(8)), io.Discard); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
}

// TestFetchRedactsCredentials: a URL's credentials appear nowhere in a
// record, whatever path the item takes.
func TestFetchRedactsCredentials(t *testing.T) {
	srv := misbehaving(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, url string
		kind      stages.Kind
		shown     string // the record's url
	}{
		{"ok", "http://user:secret@" + host + "/ok", "", "http://user:xxxxx@" + host + "/ok"},
		{"a lone user name is a token", "http://secret@" + host + "/ok", "", "http://xxxxx@" + host + "/ok"},
		{"redirect loop", "http://user:secret@" + host + "/loop", stages.KindRedirect, "http://user:xxxxx@" + host + "/loop"},
		{"unsupported scheme", "ftp://user:secret@example.com/f", stages.KindInvalidInput, "ftp://user:xxxxx@example.com/f"},
		{"unparsable", "http://user:se cret@exa mple.com/x", stages.KindInvalidInput, "http://xxxxx@exa mple.com/x"},
		{"a password with a slash", "http://alice:pw/secret@" + host + "/ok", stages.KindInvalidInput, "http://xxxxx@" + host + "/ok"},
		{"a password with a question mark", "http://alice:pw?secret@" + host + "/ok", stages.KindInvalidInput, "http://xxxxx@" + host + "/ok"},
		{"a password with a hash", "http://alice:pw#secret@" + host + "/ok", stages.KindInvalidInput, "http://xxxxx@" + host + "/ok"},
		{"no scheme", "u:secret@" + host + "/ok", stages.KindInvalidInput, "u:xxxxx@" + host + "/ok"},
	}
	var in strings.Builder
	for _, tt := range tests {
		in.WriteString(tt.url + "\n")
	}
	p := pipeline.New(t.Context())
	got := collect(t, stages.Fetch(stages.Lines(p, strings.NewReader(in.String())), stages.WithInputOrder(), stages.WithConcurrency(4)))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := got[i]
			if r.URL != tt.shown {
				t.Errorf("url %q, want %q", r.URL, tt.shown)
			}
			if r.FinalURL != "" {
				t.Errorf("final_url %q for a request that was not redirected", r.FinalURL)
			}
			if line := r.AppendJSON(nil); strings.Contains(string(line), "secret") || strings.Contains(string(line), "pw") {
				t.Errorf("credentials in the record: %s", line)
			}
			if (r.Err == nil) != (tt.kind == "") || (r.Err != nil && r.Err.Kind != tt.kind) {
				t.Errorf("error %v, want kind %q", r.Err, tt.kind)
			}
		})
	}
}

func TestFetchRequestDetails(t *testing.T) {
	srv := misbehaving(t)
	tlsTo := strings.Replace(srv.URL, "http://", "https://", 1) + "/ok"
	tests := []struct {
		name  string
		spec  string
		opts  []stages.Option
		body  string
		kind  stages.Kind
		tries int
	}{
		{"a Host header sets the host", `{"url":"` + srv.URL + `/host","headers":{"Host":"api.example"}}`, nil, "GET api.example", "", 1},
		{"a Host header as an option", `{"url":"` + srv.URL + `/host"}`, []stages.Option{stages.WithHeader("Host", "opt.example")}, "GET opt.example", "", 1},
		{"a standard method in any case", `{"url":"` + srv.URL + `/host","method":"post"}`, nil, "POST " + strings.TrimPrefix(srv.URL, "http://"), "", 1},
		{"an invalid spec header", `{"url":"` + srv.URL + `/ok","headers":{"Bad Name":"x"}}`, nil, "", stages.KindInvalidInput, 0},
		{"an invalid spec method", `{"url":"` + srv.URL + `/ok","method":"GE(T"}`, nil, "", stages.KindInvalidInput, 0},
		{"https to a plain HTTP server", `{"url":"` + tlsTo + `"}`, nil, "", stages.KindTLS, 1},
		{"an announced length is not trusted", `{"url":"` + srv.URL + `/huge-announced"}`, []stages.Option{stages.WithMaxBody(0), stages.WithRetries(0)}, "", stages.KindNetwork, 1},
		{"an empty URL", `{"url":" "}`, nil, "", stages.KindInvalidInput, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			got := collect(t, stages.Fetch(stages.Specs(p, strings.NewReader(tt.spec+"\n")), tt.opts...))
			r := got[0]
			if tt.body != "" && string(r.Body) != tt.body {
				t.Errorf("body %q, want %q", r.Body, tt.body)
			}
			if (r.Err == nil) != (tt.kind == "") || (r.Err != nil && r.Err.Kind != tt.kind) {
				t.Errorf("error %v, want kind %q", r.Err, tt.kind)
			}
			if r.Attempts != tt.tries || (tt.tries == 0 && r.Elapsed != 0) {
				t.Errorf("attempts %d elapsed %v, want %d attempts", r.Attempts, r.Elapsed, tt.tries)
			}
		})
	}
}

// TestErrorsKeepTheirCause: a record's Error unwraps to what caused it, so
// that errors.Is and errors.As work on it as on the standard library's
// errors; its text stays the kind and the message.
func TestErrorsKeepTheirCause(t *testing.T) {
	srv := misbehaving(t)
	tests := []struct {
		name string
		url  string
		opts []stages.Option
		want error
	}{
		{"timeout", srv.URL + "/hang", []stages.Option{stages.WithTimeout(50 * time.Millisecond)}, context.DeadlineExceeded},
		{"refused", "http://" + closedPort(t) + "/", nil, syscall.ECONNREFUSED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			opts := append([]stages.Option{stages.WithRetries(0)}, tt.opts...)
			r := collect(t, stages.Fetch(stages.URLs(p, []string{tt.url}), opts...))[0]
			if r.Err == nil || !errors.Is(r.Err, tt.want) {
				t.Fatalf("error %v (cause %v), want one that is %v", r.Err, errorCause(r.Err), tt.want)
			}
			if r.Err.Error() != string(r.Err.Kind)+": "+r.Err.Message {
				t.Errorf("Error() = %q", r.Err.Error())
			}
		})
	}
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		p := pipeline.New(ctx)
		time.AfterFunc(50*time.Millisecond, cancel)
		seen := map[*stages.Error]bool{}
		for r := range pipeline.All(stages.Fetch(stages.URLs(p, []string{srv.URL + "/hang", srv.URL + "/hang", srv.URL + "/hang"}), stages.WithConcurrency(1))) {
			if !errors.Is(r.Err, context.Canceled) {
				t.Errorf("record %d: error %v, want one that is context.Canceled", r.Seq, r.Err)
			}
			// Each record's error is its own, so that a consumer that
			// changes one (to add context, say) changes no other record.
			if seen[r.Err] {
				t.Errorf("record %d shares its error with another", r.Seq)
			}
			seen[r.Err] = true
		}
	})
}

// TestDefaultsCannotBeChangedFromOutside: the default retry rules are
// handed out as copies, and WithRetryOn keeps a copy of what it is given,
// so no caller can change another's rules by writing into a slice.
func TestDefaultsCannotBeChangedFromOutside(t *testing.T) {
	statusesBefore, kindsBefore, retryableBefore := stages.DefaultRetryStatuses(), stages.DefaultRetryKinds(), stages.RetryableKinds()
	stages.DefaultRetryStatuses()[0] = 200
	stages.DefaultRetryKinds()[0] = stages.KindOther
	stages.RetryableKinds()[0] = stages.KindOther
	if !slices.Equal(stages.DefaultRetryStatuses(), statusesBefore) || !slices.Equal(stages.DefaultRetryKinds(), kindsBefore) ||
		!slices.Equal(stages.RetryableKinds(), retryableBefore) {
		t.Errorf("a write into a returned slice changed the defaults: %v, %v, %v",
			stages.DefaultRetryStatuses(), stages.DefaultRetryKinds(), stages.RetryableKinds())
	}

	srv := startAPI(t, fakeapi.Config{})
	statuses := []int{500}
	opt := stages.WithRetryOn(statuses)
	statuses[0] = 404 // after the option was made: must not count
	p := pipeline.New(t.Context())
	r := collect(t, stages.Fetch(stages.URLs(p, []string{srv.URL() + "/r/a.json?status=404"}), opt, stages.WithMaxRetryWait(0)))[0]
	if r.Attempts != 1 {
		t.Errorf("%d attempts at a 404: the status list was changed after WithRetryOn took it", r.Attempts)
	}
}

func errorCause(e *stages.Error) error {
	if e == nil {
		return nil
	}
	return e.Err
}

// TestMessagesRedactCredentials: a message that quotes a URL, from a
// Location header that does not parse or from a spec line with a type
// error, once showed its password; every message is masked now.
func TestMessagesRedactCredentials(t *testing.T) {
	locations := []string{"http://user:secret@example.com/%zz", `http://u:se"cret@[::1`, "http://u:sec ret@[::1", "http://u:<secret>@[::1",
		"http://u:se/cret@h:1:2/"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscan(r.URL.Query().Get("i"), &i)
		w.Header()["Location"] = []string{locations[i]}
		w.WriteHeader(http.StatusFound)
	}))
	defer srv.Close()
	var specs strings.Builder
	for i := range locations {
		fmt.Fprintf(&specs, "{\"url\":\"%s/?i=%d\"}\n", srv.URL, i)
	}
	specs.WriteString("{\"url\":[\"http://user:secret@example.com/\"]}\n")
	specs.WriteString("{\"url\":\"http://a/\",\"headers\":{\"A\":\"Bearer secret\\n\"}}\n")
	specs.WriteString("{\"url\":\"http://a/\",\"headers\":{\"X-Api Key\":\"secret\"}}\n")
	specs.WriteString("{\"meta\":01,\"url\":\"http://u:it's-secret@127.0.0.1:9/ok\"}\n")
	p := pipeline.New(t.Context())
	for _, r := range collect(t, stages.Fetch(stages.Specs(p, strings.NewReader(specs.String())), stages.WithInputOrder())) {
		if r.Err == nil {
			t.Errorf("record %d: no error", r.Seq)
			continue
		}
		if strings.Contains(r.Err.Message, "secret") || strings.Contains(r.Err.Message, "se\\\"") || strings.Contains(r.Err.Message, `"se"`) {
			t.Errorf("record %d: the message shows a password or a piece of one: %s", r.Seq, r.Err.Message)
		}
	}
}

// TestPortOutOfRangeIsInvalidInput: a port the parser takes but no socket
// can have was tried three times as a connect failure, and a URL with a
// port but no host fetched this machine; each is an item that is not a
// request, with no attempt.
func TestPortOutOfRangeIsInvalidInput(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:99999/x", "http://127.0.0.1:65536/x", "http://127.0.0.1:0/x", "http://:8080/x"} {
		t.Run(u, func(t *testing.T) {
			p := pipeline.New(t.Context())
			r := collect(t, stages.Fetch(stages.URLs(p, []string{u})))[0]
			if r.Err == nil || r.Err.Kind != stages.KindInvalidInput || r.Attempts != 0 {
				t.Errorf("error %v after %d attempts, want invalid_input, none", r.Err, r.Attempts)
			}
		})
	}
}

// TestMalformedResponseIsNotANetworkFailure: a response that is not valid
// HTTP said "transport connection broken", which reads as a network
// failure; it says what was wrong, as an "other" record.
func TestMalformedResponseIsNotANetworkFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096))
			io.WriteString(c, "HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\nok")
			c.Close()
		}
	}()
	p := pipeline.New(t.Context())
	r := collect(t, stages.Fetch(stages.URLs(p, []string{"http://" + ln.Addr().String() + "/"})))[0]
	if r.Err == nil || r.Err.Kind != stages.KindOther || !strings.Contains(r.Err.Message, "not valid HTTP: malformed status code") || r.Attempts != 1 {
		t.Errorf("error %v after %d attempts, want one 'other' that says the response is not HTTP", r.Err, r.Attempts)
	}
}

// TestResponseHeaders: the response headers asked for, by name or
// pattern, in any case, are in the record; no others, and none without
// WithResponseHeaders.
func TestResponseHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<https://h/?page=2>; rel="next"`)
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("X-RateLimit-Remaining", "57")
		w.Header().Set("X-RateLimit-Reset", "1700000000")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	fetch := func(opts ...stages.Option) stages.Record {
		p := pipeline.New(t.Context())
		return collect(t, stages.Fetch(stages.URLs(p, []string{srv.URL}), opts...))[0]
	}
	if r := fetch(); r.Header != nil {
		t.Errorf("headers kept unasked: %v", r.Header)
	}
	r := fetch(stages.WithResponseHeaders("link", "ETAG", "x-ratelimit-*", "set-cookie"))
	line := string(r.AppendJSON(nil))
	want := `"headers":{"ETAG":"\"v1\"","X-Ratelimit-Remaining":"57","X-Ratelimit-Reset":"1700000000","link":"<https://h/?page=2>; rel=\"next\"","set-cookie":"a=1, b=2"}`
	if !strings.Contains(line, want) {
		t.Errorf("record %s\nwant %s", line, want)
	}
}
