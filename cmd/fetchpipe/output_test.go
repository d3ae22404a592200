package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

// TestOutputThatIsTheInputIsRefused: -o naming the input file once
// emptied it before a line was read, and the run wrote nothing and exited
// 0. Now it is a usage error and the file is left as it was, and so is
// standard output that is the input file.
func TestOutputThatIsTheInputIsRefused(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "list.txt")
	const content = "http://127.0.0.1:9/a\nhttp://127.0.0.1:9/b\n"
	open := func(flag int) *os.File {
		f, err := os.OpenFile(list, flag, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	tests := []struct {
		name   string
		env    func() env
		args   []string
		stderr string
	}{
		{"-i and -o", func() env { return env{stdin: strings.NewReader(""), stdout: io.Discard} },
			[]string{"-i", list, "-o", list}, "is the input file"},
		{"stdin and -o", func() env { return env{stdin: open(os.O_RDONLY), stdout: io.Discard} },
			[]string{"-o", list}, "is the input file"},
		{"-i and stdout", func() env { return env{stdin: strings.NewReader(""), stdout: open(os.O_WRONLY | os.O_APPEND)} },
			[]string{"-i", list}, "standard output is the input file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(list, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			e := tt.env()
			e.stderr = &stderr
			if code := run(t.Context(), tt.args, e); code != exitUsage {
				t.Errorf("exit status %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tt.stderr)
			}
			if b, _ := os.ReadFile(list); string(b) != content {
				t.Errorf("the input file now holds %q", b)
			}
		})
	}
}

// TestFatalOutputErrorEndsTheRunWhileInputIsOpen: after the output failed,
// the run once waited for the next line of an input that stayed open
// (tail -f into a full disk), forever. It ends at once, exit 3.
func TestFatalOutputErrorEndsTheRunWhileInputIsOpen(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	fmt.Fprintln(inW, base+"/r/a.json")
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(t.Context(), nil, env{stdin: inR, stdout: failingWriter{}, stderr: &stderr}) }()
	select {
	case code := <-done:
		if code != exitFatal || !strings.Contains(stderr.String(), "disk full") {
			t.Errorf("exit status %d, stderr %q; want %d and why", code, stderr.String(), exitFatal)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end after its output failed") // the input is closed by the deferred calls
	}
}

// TestOutputPipeWhoseReaderLeftEndsTheRun: -o /dev/stdout into head once
// never ended, as the output was opened read-write and the process was
// a reader of its own pipe. Opened write-only, the write fails once the
// reader leaves, and the run ends, exit 3.
func TestOutputPipeWhoseReaderLeftEndsTheRun(t *testing.T) {
	fifo := mkfifo(t)
	base := fake(t, fakeapi.Config{})
	var args []string
	for i := range 400 { // about 800 KB of records: far more than a pipe holds
		args = append(args, fmt.Sprintf("%s/r/%d.json", base, i))
	}
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(t.Context(), append(args, "-o", fifo, "-c", "4"), env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr})
	}()
	reader, err := os.Open(fifo) // blocks until the run opens the other end
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(reader).ReadString('\n'); err != nil { // head -n 1
		t.Fatal(err)
	}
	reader.Close()
	select {
	case code := <-done:
		if code != exitFatal || !strings.Contains(stderr.String(), "broken pipe") {
			t.Errorf("exit status %d, stderr %q; want %d and why", code, stderr.String(), exitFatal)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end after the reader of its output left")
	}
}

// TestJSONLArgumentsAreItems: --jsonl arguments were joined and split
// again by line, so that a pretty-printed spec became six invalid_input
// records and an empty argument none. Each argument is one item.
func TestJSONLArgumentsAreItems(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	pretty := fmt.Sprintf("{\n  \"url\": \"%s/r/a.json\",\n  \"meta\": {\n    \"row\": 1\n  }\n}", base)
	r := runCmd(t, "", "--jsonl", "-d", "none", "--ordered", "--", pretty, "", "#x")
	recs := parseRecords(t, r.stdout)
	if len(recs) != 3 {
		t.Fatalf("%d records for 3 arguments:\n%s", len(recs), r.stdout)
	}
	if !recs[0].OK || string(recs[0].Meta) != `{"row":1}` {
		t.Errorf("the pretty spec: %+v, meta %s", recs[0], recs[0].Meta)
	}
	for _, rec := range recs[1:] {
		if rec.kind() != "invalid_input" {
			t.Errorf("record %d: %+v, want invalid_input", rec.Seq, rec)
		}
	}
}

// TestSummaryCountsEqualTheRecords: --summary json prints one JSON object
// whose counts are those of the records written, and what the retries
// were for; never prints nothing but how a run ended; always prints the
// text even when all went well.
func TestSummaryCountsEqualTheRecords(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	var in strings.Builder
	for i := range 30 {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&in, "%s/r/%d.json\n", base, i)
		case 1:
			fmt.Fprintf(&in, "%s/r/%d.json?status=404\n", base, i)
		default:
			in.WriteString("not a url\n")
		}
	}
	fmt.Fprintf(&in, "%s/r/retried.json?fail=2&status=429&id=retried\n", base) // two 429s, then 200
	r := runCmd(t, in.String(), "-d", "none", "--summary", "json", "--max-retry-wait", "1ms")
	var s struct {
		Items, OK, Failed int
		Kinds             map[string]int `json:"failed_by_kind"`
		Statuses          map[string]int
		Retried           map[string]int `json:"retried_for"`
		P99               float64        `json:"p99_ms"`
	}
	if err := json.Unmarshal([]byte(r.stderr), &s); err != nil {
		t.Fatalf("stderr is not one JSON object: %v\n%s", err, r.stderr)
	}
	ok, kinds := 0, map[string]int{}
	recs := parseRecords(t, r.stdout)
	for _, rec := range recs {
		if rec.OK {
			ok++
		} else {
			kinds[rec.kind()]++
		}
	}
	if s.Items != len(recs) || s.OK != ok || s.Failed != len(recs)-ok || s.Kinds["http_status"] != kinds["http_status"] ||
		s.Kinds["invalid_input"] != kinds["invalid_input"] || s.Statuses["404"] != 10 || s.Statuses["200"] != 11 || s.P99 <= 0 ||
		len(s.Retried) != 1 || s.Retried["429"] != 2 {
		t.Errorf("summary %+v, records: %d, %d ok, %v", s, len(recs), ok, kinds)
	}
	if r := runCmd(t, in.String(), "-d", "none", "--summary", "never"); r.stderr != "" {
		t.Errorf("--summary never printed %q", r.stderr)
	}
	if r := runCmd(t, base+"/r/a.json\n", "-d", "none", "--summary", "always"); !strings.Contains(r.stderr, "1 item in ") || !strings.Contains(r.stderr, "1 ok") {
		t.Errorf("--summary always printed %q", r.stderr)
	}
}

// TestOrderedFetchesPastASlowHead: with --ordered, a slow first item once
// stopped the fetching once the window behind it was full; now what
// finishes meanwhile waits in the spool, so by the time the first record
// comes out every request has been made. The spool leaves no file, after
// a normal end, an interrupt or a fatal error.
func TestOrderedFetchesPastASlowHead(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	srv := fakeServer(t, fakeapi.Config{})
	input := srv.URL() + "/r/head.json?latency=500ms\n"
	for i := range 60 {
		input += fmt.Sprintf("%s/r/%d.json\n", srv.URL(), i)
	}
	stdin, stdout, _, done := pipes(t, t.Context(), "--ordered", "-c", "4", "-d", "none")
	io.WriteString(stdin, input)
	stdin.Close()
	if rec := readRecord(t, stdout); rec.Seq != 0 {
		t.Fatalf("first record %+v", rec)
	}
	if got := srv.Handler().Stats().Requests; got != 61 {
		t.Errorf("%d requests made when the first record came out, want all 61: the fetching stopped behind the slow item", got)
	}
	for seq := int64(1); seq <= 60; seq++ {
		if rec := readRecord(t, stdout); rec.Seq != seq {
			t.Fatalf("record %d out of order: %+v", seq, rec)
		}
	}
	<-done
	// An interrupt, and a fatal error, while records wait in the spool.
	ctx, cancel := context.WithCancelCause(t.Context())
	time.AfterFunc(200*time.Millisecond, func() { cancel(errInterrupted) })
	run(ctx, []string{"--ordered", "-c", "4", "-d", "none", "--grace", "0"}, env{stdin: strings.NewReader(input), stdout: io.Discard, stderr: io.Discard})
	run(t.Context(), []string{"--ordered", "-c", "4", "-d", "none"}, env{stdin: strings.NewReader(input), stdout: failingWriter{}, stderr: io.Discard})
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("the spool left %d files behind", len(entries))
	}
}

// TestSpoolFullSaysSo: when --ordered's spool is full, reading waits for
// the slow record ahead, and stderr says so once; every record still comes.
func TestSpoolFullSaysSo(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	input := base + "/r/head.json?latency=300ms\n"
	for i := range 100 {
		input += fmt.Sprintf("%s/r/%d.json\n", base, i)
	}
	r := runCmd(t, input, "--ordered", "-c", "4", "-d", "none", "--spool-limit", "2KiB", "--summary", "never")
	if recs := parseRecords(t, r.stdout); r.code != exitOK || len(recs) != 101 {
		t.Errorf("exit status %d, %d records", r.code, len(recs))
	}
	if strings.Count(r.stderr, "spool is full") != 1 {
		t.Errorf("stderr %q, want one note that the spool is full", r.stderr)
	}
}
