package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// moduleRoot finds the directory of fetchpipe's go.mod, so that the bench
// builds the same fetchpipe from wherever it is run inside the repository.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err == nil {
		if mod := strings.TrimSpace(string(out)); mod != "" && mod != os.DevNull {
			return filepath.Dir(mod), nil
		}
	}
	// Without a go command that knows the module, walk up from here.
	dir, werr := os.Getwd()
	if werr != nil {
		return "", werr
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in this directory or above it: run the bench from inside the fetchpipe repository")
		}
		dir = parent
	}
}

// buildFetchpipe builds ./cmd/fetchpipe into dir, as a user would install
// it, and returns the binary's path. The bench measures this binary, not
// the library in-process: start-up, flag parsing and output are part of
// what a user waits for.
func buildFetchpipe(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "fetchpipe")
	cmd := goCommand(ctx, "build", "-o", bin, "./cmd/fetchpipe")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/fetchpipe: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return bin, nil
}

// goCommand is the go command with args, which ctx stops together with
// the compilers and linker it started: go build has no interrupt handler,
// so stopping go alone, by a signal or a kill, would leave them running
// after the bench has ended.
func goCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	killGroupOnCancel(cmd)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}
