package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

// counting is an API that answers GET and POST alike after a short wait,
// and counts the requests it saw.
type counting struct{ requests atomic.Int64 }

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.requests.Add(1)
	time.Sleep(time.Duration(5+len(r.URL.Path)%25) * time.Millisecond)
	fmt.Fprint(w, `{"ok":1}`)
}

// interrupted runs the command as a signal would cut it: the context is
// cancelled with errInterrupted once the server has seen n requests.
func interrupted(t *testing.T, srv *counting, n int64, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	go func() {
		for srv.requests.Load() < n && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel(errInterrupted)
	}()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr})
	return result{code, stdout.Bytes(), stderr.String()}
}

// okOnce checks the output file after a resume: every one of n items has
// exactly one ok record, and every line is a whole record.
func okOnce(t *testing.T, file string, n int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ok := make(map[int64]int)
	for _, r := range parseRecords(t, b) {
		if r.OK {
			ok[r.Seq]++
		}
	}
	for seq := range int64(n) {
		if ok[seq] != 1 {
			t.Errorf("item %d has %d ok records, want 1", seq, ok[seq])
		}
	}
	if len(ok) != n {
		t.Errorf("%d items ok, want %d", len(ok), n)
	}
}

// TestResumeLosesNothing: a run interrupted partway, whose output a kill
// then tore, is resumed: every item ends with exactly one ok record, with
// lines, -t, --jsonl (two POSTs to one URL with different bodies are two
// items) and --ordered; and resuming again, with all ok, fetches nothing
// and exits 0.
func TestResumeLosesNothing(t *testing.T) {
	api := new(counting)
	srv := httptest.NewServer(api)
	defer srv.Close()
	const n = 200
	var urls, names, specs strings.Builder
	for i := range n {
		fmt.Fprintf(&urls, "%s/r/u%d.json\n", srv.URL, i)
		fmt.Fprintf(&names, "n%d\n", i)
		// Pairs of POSTs to one URL, told apart by their bodies.
		fmt.Fprintf(&specs, `{"url":"%s/r/s%d.json","method":"POST","body":{"part":%d}}`+"\n", srv.URL, i/2, i%2)
	}
	tests := []struct {
		name  string
		input string
		args  []string
	}{
		{"lines", urls.String(), nil},
		{"a template", names.String(), []string{"-t", srv.URL + "/r/{}.json"}},
		{"--jsonl", specs.String(), []string{"--jsonl"}},
		{"--ordered", urls.String(), []string{"--ordered"}},
		{"arguments", "", append([]string{"--"}, strings.Fields(urls.String())...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "out.ndjson")
			args := append([]string{"-d", "none", "-c", "8", "--grace", "0", "--resume", file, "-o", file}, tt.args...)
			api.requests.Store(0)
			if r := interrupted(t, api, 60, tt.input, args...); r.code != exitInterrupted {
				t.Fatalf("first run: exit status %d, stderr %s", r.code, r.stderr)
			}
			// A kill tears the last line.
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(`{"seq":7,"item":"0123`)
			f.Close()
			api.requests.Store(0)
			if r := runCmd(t, tt.input, args...); r.code != exitOK {
				t.Fatalf("resumed run: exit status %d, stderr %s", r.code, r.stderr)
			}
			okOnce(t, file, n)
			if got := api.requests.Load(); got >= n {
				t.Errorf("the resumed run made %d requests: it fetched what was done", got)
			}
			api.requests.Store(0)
			r := runCmd(t, tt.input, args...)
			if r.code != exitOK || api.requests.Load() != 0 || !strings.Contains(r.stderr, "skipped the 200 items") {
				t.Errorf("resuming a finished run: exit status %d, %d requests, stderr %q; want 0, none", r.code, api.requests.Load(), r.stderr)
			}
			okOnce(t, file, n)
		})
	}
}

// TestResumeRefusesAChangedInput: an input whose item at some seq is not
// the one the output records there, or that ends before the output's
// last item, is refused, and the file is left as it was.
func TestResumeRefusesAChangedInput(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	file := filepath.Join(t.TempDir(), "out.ndjson")
	input := "a\nb\nc\n"
	if r := runCmd(t, input, "-t", base+"/r/{}.json", "-d", "none", "--resume", file); r.code != exitOK {
		t.Fatalf("exit status %d: %s", r.code, r.stderr)
	}
	before, _ := os.ReadFile(file)
	tests := []struct{ name, input, stderr string }{
		{"an item changed", "a\nB\nc\n", "input item 1 "},
		{"the input is shorter", "a\nb\n", "the input ends before item 2"},
		{"another template", "a\nb\nc\n", "another template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			template := base + "/r/{}.json"
			if tt.name == "another template" {
				template = base + "/r/{}.json?v=2"
			}
			r := runCmd(t, tt.input, "-t", template, "-d", "none", "--resume", file)
			if strings.Contains(r.stderr, "--help") {
				t.Errorf("a refused resume points to --help: %q", r.stderr)
			}
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.stderr) || !strings.Contains(r.stderr, "nothing was written") {
				t.Errorf("exit status %d, stderr %q; want %d saying %q", r.code, r.stderr, exitUsage, tt.stderr)
			}
			if after, _ := os.ReadFile(file); !bytes.Equal(after, before) {
				t.Errorf("the file changed:\n%s", after)
			}
		})
	}
	t.Run("a file that is not an output", func(t *testing.T) {
		list := filepath.Join(t.TempDir(), "list.txt")
		os.WriteFile(list, []byte(input), 0o644)
		if r := runCmd(t, input, "-t", base+"/r/{}.json", "--resume", list); r.code != exitUsage || !strings.Contains(r.stderr, "not a record") {
			t.Errorf("exit status %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("-o another file", func(t *testing.T) {
		if r := runCmd(t, input, "--resume", file, "-o", file+".2"); r.code != exitUsage || !strings.Contains(r.stderr, "must name the same file") {
			t.Errorf("exit status %d, stderr %q", r.code, r.stderr)
		}
	})
}
