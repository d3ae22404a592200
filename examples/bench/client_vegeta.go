package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// vegeta is a load-testing tool in Go: as fast as it can go (-rate 0) with
// K workers, it shows what a well-known Go HTTP tool costs per request when
// it keeps nothing of a body. It is not a fetcher (its results are about
// requests: status, timing, sizes), so its row is a tool that does less
// than fetchpipe, not one that does the same.
//
// It runs where a vegeta is on the PATH; else the bench builds the version
// below with go install into its temporary directory, which works from the
// module cache or through the Go module proxy; where that fails it is left
// out.
const (
	vegetaModule  = "github.com/tsenart/vegeta/v12"
	vegetaVersion = "v12.13.0"
)

// vegetaBuild is how long building vegeta may take, downloads included.
const vegetaBuild = 5 * time.Minute

// findVegeta returns the vegeta asked for with -vegeta, else the one on
// the PATH, else one built into dir.
func findVegeta(ctx context.Context, asked, dir string, logf func(string, ...any)) peer {
	p := peer{name: "vegeta"}
	switch asked {
	case "none":
		p.note = "-vegeta none"
		return p
	case "":
		if path, err := exec.LookPath("vegeta"); err == nil {
			p.path, p.note = path, "vegeta "+vegetaVersionOf(ctx, path)+" ("+path+")"
			return p
		}
		logf("  building vegeta: go install %s@%s ...\n", vegetaModule, vegetaVersion)
		path, err := buildVegeta(ctx, dir)
		if err != nil {
			p.note = err.Error()
			return p
		}
		p.path, p.note = path, fmt.Sprintf("vegeta %s, built by the bench with go install %s@%s", vegetaVersionOf(ctx, path), vegetaModule, vegetaVersion)
		return p
	}
	if err := exec.CommandContext(ctx, asked, "-version").Run(); err != nil {
		p.note = fmt.Sprintf("%s -version: %v", asked, err)
		return p
	}
	p.path, p.note = asked, "vegeta "+vegetaVersionOf(ctx, asked)+" ("+asked+")"
	return p
}

// buildVegeta installs vegeta into dir/gobin and returns its path.
func buildVegeta(ctx context.Context, dir string) (string, error) {
	gobin := filepath.Join(dir, "gobin")
	bctx, cancel := context.WithTimeout(ctx, vegetaBuild)
	defer cancel()
	cmd := goCommand(bctx, "install", vegetaModule+"@"+vegetaVersion)
	cmd.Dir = dir // outside any module: "go install PKG@VERSION" ignores the current one anyway
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("no vegeta on the PATH, and go install %s@%s failed: %v: %s",
			vegetaModule, vegetaVersion, err, lastLine(stderr.String()))
	}
	return filepath.Join(gobin, "vegeta"), nil
}

// vegetaVersionOf is the module version a vegeta binary was built from,
// as go version -m reads it, else what its -version says, else "".
func vegetaVersionOf(ctx context.Context, path string) string {
	if out, err := exec.CommandContext(ctx, "go", "version", "-m", path).Output(); err == nil {
		for line := range strings.Lines(string(out)) {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" && f[1] == vegetaModule {
				return f[2]
			}
		}
	}
	out, _ := exec.CommandContext(ctx, path, "-version").Output()
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(line, "Version:"); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return "(version unknown)"
}

// vegetaArgs are vegeta's flags but the targets file's. -rate 0 is as fast
// as the workers go, and asks for -max-workers; -workers K starts them all
// at once. Without -lazy, vegeta reads the targets whole and goes round
// them until -duration, forever by default; with it, it stops at the end.
func vegetaArgs(k int) []string {
	ks := strconv.Itoa(k)
	return []string{"attack", "-lazy", "-rate", "0", "-workers", ks, "-max-workers", ks, "-max-body", "0", "-output", os.DevNull}
}

// vegetaCommandLine is the command as the table's note shows it.
func vegetaCommandLine(k int) string {
	return "vegeta " + strings.Join(vegetaArgs(k), " ") + ` -targets FILE, FILE holding "GET URL" for each URL`
}

// vegetaCommand writes the URLs as a vegeta targets file in the bench's
// temporary directory and returns the command that fetches them.
func (b *bench) vegetaCommand(ctx context.Context, urls urlSet, k int) (*exec.Cmd, error) {
	file := filepath.Join(b.tmp, "vegeta-targets.txt")
	err := urls.writeFile(file, func(line, url []byte) []byte {
		line = append(line, "GET "...)
		line = append(line, url...)
		return append(line, '\n')
	})
	if err != nil {
		return nil, fmt.Errorf("writing vegeta's targets: %w", err)
	}
	return exec.CommandContext(ctx, b.vegeta.path, append(vegetaArgs(k), "-targets", file)...), nil
}
