package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

func TestMain(m *testing.M) {
	// The signal tests run the command as a process of its own: this
	// binary, with its arguments in the environment.
	if args, ok := os.LookupEnv(asCommand); ok {
		limitFiles()
		os.Args = []string{"fetchpipe"}
		if args != "" {
			os.Args = append(os.Args, strings.Split(args, "\x1f")...)
		}
		main()
	}
	goleak.VerifyTestMain(m)
}

// fake starts a fake API for one test and returns its base URL.
func fake(t *testing.T, cfg fakeapi.Config) string {
	t.Helper()
	return fakeServer(t, cfg).URL()
}

// fakeServer is fake for a test that also looks at the server: its
// counts, or its handler.
func fakeServer(t *testing.T, cfg fakeapi.Config) *fakeapi.Server {
	t.Helper()
	srv, err := fakeapi.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// record is the part of an output line the tests look at.
type record struct {
	Seq    int64           `json:"seq"`
	URL    string          `json:"url"`
	Status int             `json:"status"`
	OK     bool            `json:"ok"`
	Body   json.RawMessage `json:"body"`
	Meta   json.RawMessage `json:"meta"`
	Error  *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

func (r record) kind() string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Kind
}

func parseRecords(t *testing.T, out []byte) []record {
	t.Helper()
	var recs []record
	for line := range bytes.Lines(out) {
		var r record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("output line is not JSON: %v\n%s", err, line)
		}
		recs = append(recs, r)
	}
	return recs
}

// result is what one in-process run of the command did.
type result struct {
	code   int
	stdout []byte
	stderr string
}

func runCmd(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr})
	return result{code, stdout.Bytes(), stderr.String()}
}

// TestNoArgsMeansNone: cobra reads os.Args when given nil, which would
// run a caller's arguments (under go test, the test binary's) instead of
// none.
func TestNoArgsMeansNone(t *testing.T) {
	saved := os.Args
	t.Cleanup(func() { os.Args = saved })
	os.Args = []string{"fetchpipe", "--frobnicate"}
	if r := runCmd(t, ""); r.code != exitOK {
		t.Errorf("exit status %d, stderr %q: the process's own arguments were read", r.code, r.stderr)
	}
}

func TestExitStatus(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	ok, bad := base+"/r/ok.json", base+"/r/bad.json?status=500"
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"all ok", ok + "\n" + ok, nil, exitOK, ""},
		{"some failed", ok + "\n" + bad, nil, exitFailed, "2 items in "},
		{"some failed, the summary", ok + "\n" + bad, nil, exitFailed, "1 ok, 1 failed (http_status 1)"},
		{"a summary of no kind", "", []string{"--summary", "sometimes"}, exitUsage, "--summary must be auto, always, never or json"},
		{"no input", "", nil, exitOK, ""},
		{"unknown flag", "", []string{"--frobnicate"}, exitUsage, "unknown flag"},
		{"zero concurrency", "", []string{"-c", "0"}, exitUsage, "--concurrency must be at least 1"},
		{"bad header", "", []string{"-H", "no colon"}, exitUsage, "must look like 'Name: value'"},
		{"bad size", "", []string{"--max-body", "lots"}, exitUsage, "--max-body"},
		{"a size under a byte is not no cap", "", []string{"--max-body", "0.5"}, exitUsage, "less than a byte"},
		{"bad decode mode", "", []string{"-d", "xml"}, exitUsage, "--decode must be json, text or none"},
		{"depth limit 0", "", []string{"--max-depth", "0"}, exitUsage, "--max-depth must be from 1 to 9999"},
		{"a burst without a rate", "", []string{"--burst", "5"}, exitUsage, "--burst applies to --rate and --host-rate"},
		{"depth limit over 9999", "", []string{"--max-depth", "10000"}, exitUsage, "--max-depth must be from 1 to 9999"},
		{"missing input file", "", []string{"-i", filepath.Join(t.TempDir(), "nope")}, exitUsage, "cannot open input"},
		{"uncreatable output", "", []string{"-o", filepath.Join(t.TempDir(), "no", "dir")}, exitUsage, "cannot create output"},
		{"template without a hole", "x", []string{"-t", base}, exitUsage, "has no {} or {raw}"},
		{"template and jsonl", "", []string{"-t", base + "/{}", "--jsonl"}, exitUsage, "do not go together"},
		{"arguments and input file", "", []string{"-i", "f", ok}, exitUsage, "not both"},
		{"demo takes no arguments", "", []string{"demo", "x"}, exitUsage, "unknown command"},
		{"header with a control byte", "", []string{"-H", "X: a\x01b"}, exitUsage, "--header"},
		{"header name not a token", "", []string{"-H", "X É: v"}, exitUsage, "--header"},
		{"method not a token", "", []string{"-X", "GE(T"}, exitUsage, "--method"},
		{"input is a directory", "", []string{"-i", t.TempDir()}, exitUsage, "is a directory"},
		{"a shard that is not I/N", "", []string{"--shard", "1"}, exitUsage, "--shard: \"1\" is not I/N"},
		{"a shard past the last", "", []string{"--shard", "3/3"}, exitUsage, "it must be from 0 to 2"},
		{"no shards", "", []string{"--shard", "0/0"}, exitUsage, "N must be at least 1"},
		{"every argument is an item", "", []string{"-d", "none", "", "#x"}, exitFailed, "0 ok, 2 failed (invalid_input 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q does not say %q", r.stderr, tt.stderr)
			}
			if tt.code == exitUsage && len(r.stdout) > 0 {
				t.Errorf("a usage error wrote records:\n%s", r.stdout)
			}
		})
	}
}

// failingWriter fails every write, as a full disk or a closed socket does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestOutputFailureIsFatal(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	var stderr bytes.Buffer
	code := run(t.Context(), []string{base + "/r/a.json"}, env{stdin: strings.NewReader(""), stdout: failingWriter{}, stderr: &stderr})
	if code != exitFatal {
		t.Errorf("exit status %d, want %d", code, exitFatal)
	}
	if !strings.Contains(stderr.String(), "writing output: disk full") {
		t.Errorf("stderr %q does not say why", stderr.String())
	}
}

func TestEveryItemYieldsOneRecord(t *testing.T) {
	base := fake(t, fakeapi.Config{Latency: fakeapi.Latency{Max: 20 * time.Millisecond}})
	// Each input line, with the error kind its record must carry; blank and
	// comment lines are not items.
	items := []struct{ line, kind string }{
		{"a", ""},
		{"", "-"},
		{"b?status=500", "http_status"},
		{"# a comment", "-"},
		{"c?format=badjson", "decode"},
		{"http://[::1", "invalid_input"},
		{"ftp://example.com/x", "invalid_input"},
		{"d?format=html", "decode"},
		{"e?status=404", "http_status"},
	}
	var in strings.Builder
	var want []string
	for _, it := range items {
		line := it.line
		if line != "" && line[0] != '#' && !strings.Contains(line, "://") {
			line = base + "/r/" + strings.Replace(line, "?", ".json?", 1)
			if !strings.Contains(line, "?") {
				line += ".json"
			}
		}
		in.WriteString(line + "\n")
		if it.kind != "-" {
			want = append(want, it.kind)
		}
	}
	for _, args := range [][]string{nil, {"--ordered"}, {"-c", "1"}, {"-d", "text"}} {
		t.Run(strings.Join(append([]string{"flags"}, args...), " "), func(t *testing.T) {
			r := runCmd(t, in.String(), args...)
			if r.code != exitFailed {
				t.Errorf("exit status %d, want %d", r.code, exitFailed)
			}
			recs := parseRecords(t, r.stdout)
			if len(recs) != len(want) {
				t.Fatalf("%d records for %d items", len(recs), len(want))
			}
			seen := make([]bool, len(want))
			for i, rec := range recs {
				if rec.Seq < 0 || rec.Seq >= int64(len(want)) || seen[rec.Seq] {
					t.Fatalf("seq %d out of range or repeated", rec.Seq)
				}
				seen[rec.Seq] = true
				wantKind := want[rec.Seq]
				if args != nil && args[0] == "-d" && wantKind == "decode" {
					wantKind = "" // text mode takes any body
				}
				if rec.kind() != wantKind || rec.OK != (wantKind == "") {
					t.Errorf("seq %d: kind %q ok %v, want kind %q", rec.Seq, rec.kind(), rec.OK, wantKind)
				}
				if len(args) > 0 && args[0] == "--ordered" && rec.Seq != int64(i) {
					t.Errorf("--ordered: record %d has seq %d", i, rec.Seq)
				}
			}
		})
	}
}

func TestRequestFlags(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method, "path": r.URL.EscapedPath(), "query": r.URL.RawQuery,
			"token": r.Header.Get("X-Token"), "agent": r.Header.Get("User-Agent"), "body": string(b),
		})
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  map[string]string // fields of the echoed request
		meta  string
	}{
		{"template escapes the line", "a b/c\n", []string{"-t", srv.URL + "/r/{}.json"},
			map[string]string{"method": "GET", "path": "/r/a%20b%2Fc.json"}, ""},
		{"raw template", "q=1&r=2\n", []string{"-t", srv.URL + "/s?{raw}"},
			map[string]string{"path": "/s", "query": "q=1&r=2"}, ""},
		{"method and headers", srv.URL + "/x\n", []string{"-X", "post", "-H", "X-Token: s3cret", "-H", "User-Agent: me/1"},
			map[string]string{"method": "POST", "token": "s3cret", "agent": "me/1"}, ""},
		{"jsonl spec", `{"url":"` + srv.URL + `/y","method":"PUT","headers":{"X-Token":"t"},"body":{"a":1},"meta":{"id":7}}` + "\n",
			[]string{"--jsonl"}, map[string]string{"method": "PUT", "token": "t", "body": `{"a":1}`}, `{"id":7}`},
		{"arguments", "", []string{srv.URL + "/arg"}, map[string]string{"path": "/arg"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, tt.stdin, tt.args...)
			recs := parseRecords(t, r.stdout)
			if r.code != exitOK || len(recs) != 1 {
				t.Fatalf("exit status %d, %d records; stderr:\n%s", r.code, len(recs), r.stderr)
			}
			var got map[string]string
			if err := json.Unmarshal(recs[0].Body, &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("server saw %s %q, want %q", k, got[k], v)
				}
			}
			if string(recs[0].Meta) != tt.meta {
				t.Errorf("meta %s, want %s", recs[0].Meta, tt.meta)
			}
		})
	}
}

func TestInputAndOutputFiles(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	dir := t.TempDir()
	in, out := filepath.Join(dir, "names.txt"), filepath.Join(dir, "out.ndjson")
	if err := os.WriteFile(in, []byte("golang\nrust\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, "", "-t", base+"/r/{}.json", "-i", in, "-o", out, "-d", "none")
	if r.code != exitOK || len(r.stdout) > 0 {
		t.Fatalf("exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := parseRecords(t, b)
	if len(recs) != 2 || recs[0].Body != nil {
		t.Errorf("want 2 records without bodies, got:\n%s", b)
	}
}

// pipes runs the command in the background on real pipes, as a shell
// would, and returns the ends the test holds and a channel for the result.
func pipes(t *testing.T, ctx context.Context, args ...string) (stdin io.WriteCloser, stdout *bufio.Reader, stderr *bytes.Buffer, done <-chan int) {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// A record that never comes must fail the test, not hang it.
	outR.SetReadDeadline(time.Now().Add(30 * time.Second))
	stderr = new(bytes.Buffer)
	ch, finished := make(chan int, 1), make(chan struct{})
	go func() {
		defer close(finished)
		ch <- run(ctx, args, env{stdin: inR, stdout: outW, stderr: stderr})
		outW.Close()
	}()
	t.Cleanup(func() {
		inW.Close()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("the run did not end")
		}
		inR.Close()
		outR.Close()
	})
	return inW, bufio.NewReader(outR), stderr, ch
}

func readRecord(t *testing.T, r *bufio.Reader) record {
	t.Helper()
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading a record: %v", err)
	}
	return parseRecords(t, line)[0]
}

func TestRecordsStreamBeforeInputEnds(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	stdin, stdout, _, done := pipes(t, t.Context(), "-t", base+"/r/{}.json")
	// Each record must come out while the input is still open: a tool that
	// waits for the end of its input, or of all requests, would block here.
	for i, name := range []string{"first", "second"} {
		io.WriteString(stdin, name+"\n")
		if rec := readRecord(t, stdout); rec.Seq != int64(i) || !rec.OK {
			t.Fatalf("record %d: %+v", i, rec)
		}
	}
	stdin.Close()
	if code := <-done; code != exitOK {
		t.Errorf("exit status %d", code)
	}
}

// TestInterruptFinishesWhatWasRead: an interrupt stops the reading, lets
// the requests in flight finish within the grace, and cancels the rest.
func TestInterruptFinishesWhatWasRead(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	// A grace far above the slow request's 200ms: on a loaded machine
	// (CI runs every package's tests at once under -race) the slow one
	// once took longer than a grace of 500ms.
	stdin, stdout, stderr, done := pipes(t, ctx, "--grace", "2s")
	// A request that never ends, one that ends within the grace, one that
	// is done; the input stays open, so the source is blocked reading it
	// when the interrupt comes.
	io.WriteString(stdin, base+"/r/stuck.json?hang=1\n"+base+"/r/quick.json\n"+base+"/r/slow.json?latency=200ms\n")
	if rec := readRecord(t, stdout); rec.Seq != 1 || !rec.OK {
		t.Fatalf("first record: %+v", rec)
	}
	cancel(errInterrupted)
	if rec := readRecord(t, stdout); rec.Seq != 2 || !rec.OK {
		t.Errorf("the request that ended within the grace: %+v", rec)
	}
	if rec := readRecord(t, stdout); rec.Seq != 0 || rec.kind() != "canceled" {
		t.Errorf("the hung request's record: %+v", rec)
	}
	if code := <-done; code != exitInterrupted {
		t.Errorf("exit status %d, want %d", code, exitInterrupted)
	}
	if _, err := stdout.ReadByte(); err != io.EOF {
		t.Errorf("more output after the canceled record")
	}
	if want := "interrupted after 3 records; the rest of the input was left unread"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q does not say %q", stderr.String(), want)
	}
}

func TestDemo(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		records int
		stderr  string
	}{
		{[]string{"demo", "-n", "20", "--compare=false", "-d", "none"}, 20, "20 subreddit listings"},
		{[]string{"demo", "-n", "3", "-c", "2"}, 3, "sequential loop"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCmd(t, "", tt.args...)
			if r.code != exitOK {
				t.Fatalf("exit status %d; stderr:\n%s", r.code, r.stderr)
			}
			if n := len(parseRecords(t, r.stdout)); n != tt.records {
				t.Errorf("%d records, want %d", n, tt.records)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tt.stderr, r.stderr)
			}
		})
	}
}

// brokenReader is an input that fails after its lines, as a disk or a
// network filesystem can.
type brokenReader struct{ r io.Reader }

func (b brokenReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, errors.New("input/output error")
	}
	return n, err
}

func TestInputFailureKeepsWhatWasRead(t *testing.T) {
	base := fake(t, fakeapi.Config{Latency: fakeapi.Latency{Min: 20 * time.Millisecond, Max: 20 * time.Millisecond}})
	var stdout, stderr bytes.Buffer
	in := brokenReader{strings.NewReader("a\nb\nc\n")}
	code := run(t.Context(), []string{"-t", base + "/r/{}.json"}, env{stdin: in, stdout: &stdout, stderr: &stderr})
	if code != exitFatal {
		t.Errorf("exit status %d, want %d", code, exitFatal)
	}
	if n := len(parseRecords(t, stdout.Bytes())); n != 3 {
		t.Errorf("%d records for the 3 items read before the input failed", n)
	}
	if !strings.Contains(stderr.String(), "reading input: input/output error") {
		t.Errorf("stderr %q does not say why", stderr.String())
	}
}

// TestVersionAndSilent: -V and --version print the version, the commit
// (or "commit unknown") and the Go; -v is --verbose, no longer --version,
// which once printed a version into the output of a run meant to be
// verbose; --silent prints nothing on stderr but a fatal error.
func TestVersionAndSilent(t *testing.T) {
	for _, flag := range []string{"-V", "--version"} {
		if r := runCmd(t, "", flag); r.code != exitOK || !strings.HasPrefix(string(r.stdout), "fetchpipe "+version+" (") || !strings.Contains(string(r.stdout), "go1.") {
			t.Errorf("%s: exit status %d, stdout %q", flag, r.code, r.stdout)
		}
	}
	if r := runCmd(t, "", "-v", "--retries", "1", "--max-retry-wait", "1ms", "http://127.0.0.1:1/"); r.code != exitFailed ||
		strings.Contains(string(r.stdout), version) || !strings.Contains(r.stderr, "[seq 0] http://127.0.0.1:1/: connection refused by 127.0.0.1:1; try 2 in") {
		t.Errorf("-v: exit status %d, stdout %q, stderr %q; want a run, told of its retry on stderr", r.code, r.stdout, r.stderr)
	}
	if r := runCmd(t, "", "-v", "-s", "http://127.0.0.1:1/"); r.code != exitUsage {
		t.Errorf("-v -s: exit status %d, want a usage error", r.code)
	}
	base := fake(t, fakeapi.Config{})
	if r := runCmd(t, base+"/r/a.json?status=500\n", "-s", "--summary", "always"); r.code != exitFailed || r.stderr != "" {
		t.Errorf("--silent: exit status %d, stderr %q", r.code, r.stderr)
	}
	if r := runCmd(t, "", "-s", "-o", filepath.Join(t.TempDir(), "no", "dir")); r.code != exitUsage || r.stderr == "" {
		t.Errorf("--silent hid a fatal error: exit status %d, stderr %q", r.code, r.stderr)
	}
}
