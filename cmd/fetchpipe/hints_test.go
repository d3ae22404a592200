package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/stages"
)

// TestHints: the mistakes a newcomer makes get a message that says what
// was wanted, with an example, or that reads the input as meant.
func TestHints(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	file := filepath.Join(t.TempDir(), "urls.txt")
	os.WriteFile(file, []byte(base+"/r/a.json\n"), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // or, for a run, what a record's message says
		record string
	}{
		{"a misspelt flag", []string{"--concurency", "5"}, exitUsage, "did you mean --concurrency?", ""},
		{"a word for a number", []string{"-c", "ten"}, exitUsage, `--concurrency wants a whole number, such as 100, not "ten"`, ""},
		{"curl's -d", []string{"-d", `{"q":1}`}, exitUsage, "-d is --decode", ""},
		{"a duration in words", []string{"--timeout", "five"}, exitUsage, "a number of seconds", ""},
		{"a bare number of seconds", []string{"--timeout", "5", "-d", "none", base + "/r/a.json"}, exitOK, "", ""},
		{"a class of statuses", []string{"--retry-on", "5xx,connect", "-d", "none", base + "/r/a.json"}, exitOK, "", ""},
		{"host:port without a scheme", []string{"-d", "none", strings.TrimPrefix(base, "http://") + "/r/a.json"}, exitFailed, "", "has no scheme: want http:// or https://"},
		{"a file given as an argument", []string{"-d", "none", file}, exitFailed, "", "is a file, not a URL: to read URLs from it, give -i " + file},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, "", tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit status %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.stderr)
			}
			if tt.record != "" {
				if recs := parseRecords(t, r.stdout); len(recs) != 1 || recs[0].Error == nil || !strings.Contains(recs[0].Error.Message, tt.record) {
					t.Errorf("records %s, want one saying %q", r.stdout, tt.record)
				}
			}
		})
	}
	t.Run("a terminal on stdin", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		run(t.Context(), []string{"-d", "none"}, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, stdinTerminal: true})
		if !strings.Contains(stderr.String(), "reading URLs from the terminal, one per line; end with Ctrl-D") {
			t.Errorf("stderr %q", stderr.String())
		}
	})
}

// TestTLSFlags: a server with a private authority fails with a message
// that names both ways out; --cacert with its certificate reaches it, and
// -k does too, warning on stderr.
func TestTLSFlags(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	r := runCmd(t, "", "-d", "none", srv.URL)
	if recs := parseRecords(t, r.stdout); r.code != exitFailed || recs[0].kind() != "tls" || !strings.Contains(recs[0].Error.Message, "--cacert FILE") || !strings.Contains(recs[0].Error.Message, "-k") {
		t.Errorf("exit status %d, records %s", r.code, r.stdout)
	}
	if r := runCmd(t, "", "-d", "none", "--cacert", ca, srv.URL); r.code != exitOK {
		t.Errorf("--cacert: exit status %d, records %s", r.code, r.stdout)
	}
	if r := runCmd(t, "", "-d", "none", "-k", srv.URL); r.code != exitOK || !strings.Contains(r.stderr, "certificates are not checked") {
		t.Errorf("-k: exit status %d, stderr %q", r.code, r.stderr)
	}
	if r := runCmd(t, "", "--cacert", filepath.Join(t.TempDir(), "none.pem"), srv.URL); r.code != exitUsage {
		t.Errorf("--cacert of no file: exit status %d", r.code)
	}
}

// TestResponseHeadersFlag: --response-headers keeps the headers it names
// in each record; a pattern that is not one is a usage error.
func TestResponseHeadersFlag(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "57")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	r := runCmd(t, "", "-d", "none", "--response-headers", "x-ratelimit-*,ETag", srv.URL)
	if r.code != exitOK || !strings.Contains(string(r.stdout), `"headers":{"X-Ratelimit-Remaining":"57"}`) {
		t.Errorf("exit status %d, records %s", r.code, r.stdout)
	}
	if r := runCmd(t, "", "--response-headers", "a/b", srv.URL); r.code != exitUsage {
		t.Errorf("a bad pattern: exit status %d", r.code)
	}
}

// TestDryRun: --dry-run makes no request and prints, per item, the
// request a run would make, with credentials masked; exit 0.
func TestDryRun(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://user:secret@", 1)
	r := runCmd(t, "a\nb\n", "--dry-run", "-t", u+"/r/{}.json", "-X", "post", "-H", "Authorization: Bearer secret", "-H", "X-Team: 7")
	if r.code != exitOK || requests.Load() != 0 || strings.Contains(string(r.stdout), "secret") {
		t.Fatalf("exit status %d, %d requests, stdout %s", r.code, requests.Load(), r.stdout)
	}
	var lines []struct {
		Seq     int64
		Method  string
		URL     string
		Headers map[string]string
	}
	for line := range bytes.Lines(r.stdout) {
		var l struct {
			Seq     int64
			Method  string
			URL     string
			Headers map[string]string
		}
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 2 || lines[1].Seq != 1 || lines[1].Method != "POST" || !strings.HasSuffix(lines[1].URL, "/r/b.json") ||
		lines[1].Headers["Authorization"] != "xxxxx" || lines[1].Headers["X-Team"] != "7" {
		t.Errorf("lines %+v", lines)
	}
}

// TestHelpFitsAndTeaches: every help fits 80 columns, the root's groups
// its flags and points to the help topics, which explain the records, the
// kinds of error and the exit statuses; completion offers flag values.
func TestHelpFitsAndTeaches(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"demo", "--help"}, {"serve-fake", "--help"}, {"enqueue", "--help"}, {"help", "records"}, {"help", "kinds"}, {"help", "exit"}} {
		r := runCmd(t, "", args...)
		for line := range strings.Lines(string(r.stdout)) {
			if n := len([]rune(strings.TrimRight(line, "\n"))); n > 80 {
				t.Errorf("%v: a line of %d columns: %q", args, n, line)
			}
		}
	}
	help := string(runCmd(t, "", "--help").stdout)
	for _, want := range []string{"\nInput:\n", "\nConcurrency and politeness:\n", "\nRetries, timeouts and redirects:\n", "\nTLS:\n", "fetchpipe help records | kinds | exit"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	for topic, want := range map[string]string{"records": "elapsed_ms", "kinds": "http_status", "exit": "130"} {
		if out := string(runCmd(t, "", "help", topic).stdout); !strings.Contains(out, want) {
			t.Errorf("help %s lacks %q:\n%s", topic, want, out)
		}
	}
	if r := runCmd(t, "", "help", "fo"); r.code != exitUsage || !strings.Contains(r.stderr, `no help for "fo"`) {
		t.Errorf("help of an unknown topic: exit status %d, stderr %q", r.code, r.stderr)
	}
	if out := string(runCmd(t, "", "__complete", "--decode", "").stdout); !strings.Contains(out, "json\ntext\nnone\n") {
		t.Errorf("completion of --decode: %q", out)
	}
}

// TestDemoBriefLine: at a terminal the demo writes a short line per
// record, with the listing's first title, or the failure.
func TestDemoBriefLine(t *testing.T) {
	ok := stages.Record{Seq: 3, Status: 200, Elapsed: 12500 * time.Microsecond,
		Body: []byte(`{"data":{"children":[{"data":{"title":"Go is fun"}}]}}`), Format: stages.JSON}
	if got := briefLine(ok); got != "   3  200    12.5 ms  Go is fun\n" {
		t.Errorf("%q", got)
	}
	bad := stages.Record{Seq: 4, Status: 503, Err: &stages.Error{Kind: stages.KindHTTPStatus, Message: "server answered 503"}}
	if got := briefLine(bad); !strings.Contains(got, "http_status: server answered 503") {
		t.Errorf("%q", got)
	}
}

// TestJQFlag: --jq's result replaces each JSON body; a jq error on one
// item makes it a decode record and leaves the others ok; a failing
// server's JSON body is queried too; -d text with --jq is a usage error.
func TestJQFlag(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			w.Write([]byte(`{"n":1}`))
		case "/b":
			w.Write([]byte(`{"n":"x"}`))
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":"busy","n":0}`))
		}
	}))
	defer srv.Close()
	r := runCmd(t, "", "--ordered", "--retries", "0", "--jq", ".n + 1", srv.URL+"/a", srv.URL+"/b", srv.URL+"/c")
	recs := parseRecords(t, r.stdout)
	if r.code != exitFailed || len(recs) != 3 {
		t.Fatalf("exit status %d, records %s", r.code, r.stdout)
	}
	if !recs[0].OK || string(recs[0].Body) != "2" {
		t.Errorf("record 0: %+v, body %s", recs[0], recs[0].Body)
	}
	if recs[1].kind() != "decode" || !strings.Contains(recs[1].Error.Message, "cannot add") {
		t.Errorf("record 1: %+v", recs[1].Error)
	}
	if recs[2].kind() != "http_status" || string(recs[2].Body) != "1" {
		t.Errorf("record 2: %+v, body %s", recs[2].Error, recs[2].Body)
	}
	if r := runCmd(t, "", "--jq", ".n", "-d", "text", srv.URL+"/a"); r.code != exitUsage {
		t.Errorf("--jq with -d text: exit status %d", r.code)
	}
}

// TestFieldsAndRawBody: --fields writes the fields named, in order;
// --raw-body writes ok bodies alone, a line each, as the API's own
// objects, and failures on stderr, with the exit status saying so.
func TestFieldsAndRawBody(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	ok, bad := base+"/r/a.json", base+"/r/b.json?status=404"
	r := runCmd(t, "", "--ordered", "--fields", "status,url,seq", ok, bad)
	want := fmt.Sprintf("{\"status\":200,\"url\":%q,\"seq\":0}\n{\"status\":404,\"url\":%q,\"seq\":1}\n", ok, bad)
	if string(r.stdout) != want {
		t.Errorf("--fields wrote\n%s\nwant\n%s", r.stdout, want)
	}
	r = runCmd(t, "", "--ordered", "--raw-body", ok, bad)
	var listing struct {
		Kind string
		Data struct{ Dist int }
	}
	if lines := strings.Split(strings.TrimSpace(string(r.stdout)), "\n"); len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &listing) != nil || listing.Kind != "Listing" || listing.Data.Dist != 5 {
		t.Errorf("--raw-body wrote %q", r.stdout)
	}
	if r.code != exitFailed || !strings.Contains(r.stderr, "[seq 1] "+bad+": http_status: server answered 404") {
		t.Errorf("exit status %d, stderr %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"--fields", "url,nope"}, {"--raw-body", "--fields", "url"}} {
		if r := runCmd(t, "", append(args, ok)...); r.code != exitUsage {
			t.Errorf("%v: exit status %d", args, r.code)
		}
	}
}

// TestSaveFlag: --save writes the bodies to files the records name;
// --save-name alone, or --save with --jq, is a usage error.
func TestSaveFlag(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	dir := filepath.Join(t.TempDir(), "out")
	r := runCmd(t, "golang\nrust\n", "-t", base+"/r/{}.json", "--save", dir, "--save-name", "{}{ext}", "--ordered")
	recs := parseRecords(t, r.stdout)
	if r.code != exitOK || len(recs) != 2 || recs[0].Body != nil {
		t.Fatalf("exit status %d, records %s", r.code, r.stdout)
	}
	for _, name := range []string{"golang.json", "rust.json"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !strings.Contains(string(b), `"kind":"Listing"`) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, args := range [][]string{{"--save-name", "{}"}, {"--save", dir, "--jq", ".a"}} {
		if r := runCmd(t, "", append(args, base+"/r/a.json")...); r.code != exitUsage {
			t.Errorf("%v: exit status %d", args, r.code)
		}
	}
}

// TestSaveKeepsWhatIsNotABody: with --save, a failure's body stays in
// its record, an answer with no body (HEAD) makes no empty file, an
// unknown part of --save-name is a usage error, and a jq result nested
// deeper than --max-depth is a decode record.
func TestSaveKeepsWhatIsNotABody(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	dir := filepath.Join(t.TempDir(), "out")
	r := runCmd(t, "", "--save", dir, "--retries", "0", base+"/r/a.json?status=404")
	if recs := parseRecords(t, r.stdout); len(recs) != 1 || recs[0].Body == nil || recs[0].Status != 404 {
		t.Errorf("a 404 with --save: %s", r.stdout)
	}
	r = runCmd(t, "", "--save", dir, "-X", "HEAD", base+"/r/b.json")
	if entries, _ := os.ReadDir(dir); r.code != exitOK || len(entries) != 0 {
		t.Errorf("HEAD with --save: exit status %d, files %v", r.code, entries)
	}
	if r := runCmd(t, "", "--save", dir, "--save-name", "{nope}", base+"/r/c.json"); r.code != exitUsage {
		t.Errorf("an unknown part of --save-name: exit status %d", r.code)
	}
	r = runCmd(t, "", "--jq", "reduce range(300) as $i (0; [.])", base+"/r/d.json")
	if recs := parseRecords(t, r.stdout); len(recs) != 1 || recs[0].kind() != "decode" || !strings.Contains(recs[0].Error.Message, "jq's result") {
		t.Errorf("a deep jq result: %s", r.stdout)
	}
}

// TestQuitAtOnceRemovesPartialDownloads: a quit at once skips deferred
// calls, which remove --save's temporary files; it removes this
// process's own, and leaves another's.
func TestQuitAtOnceRemovesPartialDownloads(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, stages.TempPrefix()+"123")
	other := filepath.Join(dir, ".fetchpipe-1-456")
	os.WriteFile(mine, []byte("half"), 0o644)
	os.WriteFile(other, []byte("half"), 0o644)
	current.Store(&quitState{read: func() int64 { return 1 }, flush: func() error { return nil }, saveDir: dir})
	defer current.Store(nil)
	quitNow(io.Discard)
	if _, err := os.Stat(mine); !os.IsNotExist(err) {
		t.Errorf("this process's partial file is still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another process's file was removed: %v", err)
	}
}

// TestFlagsThatDoNotGoTogether: --dry-run appended its lines to a
// --resume file, and --raw-body with --save wrote only nulls.
func TestFlagsThatDoNotGoTogether(t *testing.T) {
	file := filepath.Join(t.TempDir(), "out.ndjson")
	for _, args := range [][]string{{"--dry-run", "--resume", file}, {"--raw-body", "--save", t.TempDir()}} {
		if r := runCmd(t, "", append(args, "http://127.0.0.1:1/")...); r.code != exitUsage {
			t.Errorf("%v: exit status %d", args, r.code)
		}
	}
	if _, err := os.Stat(file); err == nil {
		t.Errorf("--dry-run --resume made %s", file)
	}
}
