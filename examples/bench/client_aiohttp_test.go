package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

// TestAiohttpClient runs the Python client, where a Python with aiohttp is
// at hand, as S3 would: every URL gives a line, and a failure the exit
// status.
func TestAiohttpClient(t *testing.T) {
	py, err := findPython(t.Context(), "")
	if err != nil || py == "" {
		t.Skip("no Python with aiohttp here")
	}
	script, err := writeAiohttpClient(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tt := range []struct {
		name  string
		query string
		code  int
	}{
		{"ok", "", 0},
		{"failing", "?status=503", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var urls strings.Builder
			for i := range 20 {
				fmt.Fprintf(&urls, "%s/r/n%d.json%s\n", srv.URL(), i, tt.query)
			}
			var out, stderr bytes.Buffer
			cmd := exec.CommandContext(t.Context(), py, script, "4")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(urls.String()), &out, &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Fatalf("exit status %d (%v), want %d; stderr:\n%s", code, err, tt.code, stderr.String())
			}
			if n := bytes.Count(out.Bytes(), []byte("\n")); n != 20 {
				t.Errorf("%d lines for 20 URLs", n)
			}
		})
	}
}

func TestFindPython(t *testing.T) {
	for _, tt := range []struct {
		asked   string
		wantErr bool
	}{
		{"none", false},
		{"/bin/false", true}, // asked for, and cannot import aiohttp
	} {
		t.Run(tt.asked, func(t *testing.T) {
			py, err := findPython(t.Context(), tt.asked)
			if (err != nil) != tt.wantErr || py != "" {
				t.Errorf("findPython(%q) = %q, %v", tt.asked, py, err)
			}
		})
	}
}
