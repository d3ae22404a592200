package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindCurl(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := func(name, say string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("#!/bin/sh\necho '"+say+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tt := range []struct {
		name  string
		asked string
		found bool
		note  string
	}{
		{"none", "none", false, "-curl none"},
		{"missing", filepath.Join(dir, "nothing"), false, "--version"},
		{"old", script("old", "curl 7.58.0 (x86_64-pc-linux-gnu) libcurl/7.58.0"), false, "has no --parallel"},
		{"first with --parallel", script("new", "curl 7.66.0 (x86_64-pc-linux-gnu) libcurl/7.66.0"), true, "curl 7.66.0"},
		{"eight", script("eight", "curl 8.5.0 (x86_64-pc-linux-gnu) libcurl/8.5.0"), true, "curl 8.5.0"},
		{"not curl", script("other", "wget 1.21"), false, "not a version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := findCurl(t.Context(), tt.asked)
			if (p.path != "") != tt.found || !strings.Contains(p.note, tt.note) {
				t.Errorf("findCurl(%q) = path %q, note %q; want found %v, a note with %q", tt.asked, p.path, p.note, tt.found, tt.note)
			}
		})
	}
}

func TestFindVegetaNone(t *testing.T) {
	t.Parallel()
	if p := findVegeta(t.Context(), "none", t.TempDir(), t.Logf); p.path != "" || p.note != "-vegeta none" {
		t.Errorf("findVegeta(none) = %+v", p)
	}
	if p := findVegeta(t.Context(), "/bin/false", t.TempDir(), t.Logf); p.path != "" || !strings.Contains(p.note, "-version") {
		t.Errorf("findVegeta(/bin/false) = %+v", p)
	}
}

// TestRecordScanner counts failed records whatever the chunks the stream
// comes in, and whatever the body holds.
func TestRecordScanner(t *testing.T) {
	t.Parallel()
	stream := `{"seq":0,"url":"http://h/a?x=\"error\":1","status":200,"ok":true,"body":{"error":"in the body, not the record"}}` + "\n" +
		`{"seq":1,"url":"http://h/b","status":0,"ok":false,"error":{"kind":"connect","message":"refused, \"error\": {}"}}` + "\n" +
		`{"seq":2,"url":"http://h/c","status":200,"ok":true,"error":null,"body":"a \\\" string\n"}` + "\n" +
		`{"seq":3,"url":"http://h/d","status":500,"ok":false,"error":{"kind":"status"},"body":[1,{"error":null}]}` + "\n" +
		`{"seq":4,"meta":{"error":{"nested":true}},"url":"http://h/e","ok":true}` + "\n"
	for _, chunk := range []int{1, 2, 7, len(stream)} {
		var s recordScanner
		var seen []int64
		s.onRecord = func(n int64) { seen = append(seen, n) }
		for p := stream; p != ""; {
			n := min(chunk, len(p))
			if _, err := s.Write([]byte(p[:n])); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if s.records != 5 || s.errors != 2 || len(seen) != 5 || seen[4] != 5 {
			t.Errorf("chunks of %d: %d records, %d failed, onRecord %v; want 5, 2, 1 to 5", chunk, s.records, s.errors, seen)
		}
	}
}

// TestVegetaUnbuildable leaves vegeta out, with the reason, where it is not
// on the PATH and go install cannot fetch it: here, with no module proxy
// and an empty module cache.
func TestVegetaUnbuildable(t *testing.T) {
	if _, err := exec.LookPath("vegeta"); err == nil {
		t.Skip("a vegeta is on the PATH, which the bench would use")
	}
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOMODCACHE", t.TempDir())
	p := findVegeta(t.Context(), "", t.TempDir(), t.Logf)
	t.Logf("note: %s", p.note)
	if p.path != "" || !strings.Contains(p.note, "go install "+vegetaModule+"@"+vegetaVersion+" failed") {
		t.Errorf("findVegeta with no way to build it = %+v", p)
	}
}
