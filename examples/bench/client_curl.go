package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// curl with --parallel is how many people fetch a list of URLs at once
// from a shell, and it is C, with no garbage collector: the CPU per request
// of a lean native client. It runs where a curl of 7.66 or later (the first
// with --parallel) is at hand.
//
// It reads its URLs from a config file (-K), "url" and "output" lines, so
// that a long list is no command line; every body goes to /dev/null, and
// -w prints each transfer's status on stdout, a line per URL, so that the
// bench can count them as it counts records. --parallel-max is at most
// 300 in curl; the scenarios that run it have K of 100 or less.

// curlMin is the first curl with --parallel.
var curlMin = [3]int{7, 66, 0}

var curlVersionLine = regexp.MustCompile(`^curl (\d+)\.(\d+)\.(\d+)`)

// findCurl returns the curl asked for with -curl, else curl on the PATH,
// left out when there is none, -curl is none, or it is older than curlMin.
func findCurl(ctx context.Context, asked string) peer {
	p := peer{name: "curl"}
	switch asked {
	case "none":
		p.note = "-curl none"
		return p
	case "":
		path, err := exec.LookPath("curl")
		if err != nil {
			p.note = "no curl on the PATH"
			return p
		}
		asked = path
	}
	out, err := exec.CommandContext(ctx, asked, "--version").Output()
	if err != nil {
		p.note = fmt.Sprintf("%s --version: %v", asked, err)
		return p
	}
	first, _, _ := strings.Cut(string(out), "\n")
	v, ok := curlVersion(first)
	if !ok {
		p.note = fmt.Sprintf("%s --version says %q, not a version", asked, first)
		return p
	}
	name := fmt.Sprintf("curl %d.%d.%d", v[0], v[1], v[2])
	if cmpVersion(v, curlMin) < 0 {
		p.note = fmt.Sprintf("%s at %s has no --parallel, which came in %d.%d", name, asked, curlMin[0], curlMin[1])
		return p
	}
	p.path, p.note = asked, name+" ("+asked+")"
	return p
}

// curlVersion reads "curl 7.88.1 (x86_64-pc-linux-gnu) …".
func curlVersion(line string) ([3]int, bool) {
	var v [3]int
	m := curlVersionLine.FindStringSubmatch(line)
	if m == nil {
		return v, false
	}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v, true
}

func cmpVersion(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// curlArgs are curl's flags but the config file's. -s alone leaves
// --parallel's progress meter on in 7.88, hence --no-progress-meter; -S
// still says why a transfer failed.
func curlArgs(k int) []string {
	return []string{"-sS", "--no-progress-meter", "--parallel", "--parallel-max", strconv.Itoa(k), "--parallel-immediate",
		"-w", `%{http_code}\n`}
}

// curlCommandLine is the command as the table's note shows it.
func curlCommandLine(k int) string {
	return "curl " + strings.ReplaceAll(strings.Join(curlArgs(k), " "), `%{http_code}\n`, `'%{http_code}\n'`) +
		` -K FILE, FILE holding url = "URL" and output = "/dev/null" for each URL`
}

// curlCommand writes the URLs as a curl config file in the bench's
// temporary directory and returns the command that fetches them.
func (b *bench) curlCommand(ctx context.Context, urls urlSet, k int) (*exec.Cmd, error) {
	file := filepath.Join(b.tmp, "curl-urls.txt")
	err := urls.writeFile(file, func(line, url []byte) []byte {
		line = append(line, `url = "`...)
		line = append(line, url...) // the bench's URLs hold no quote or backslash
		return append(line, "\"\noutput = \"/dev/null\"\n"...)
	})
	if err != nil {
		return nil, fmt.Errorf("writing curl's URLs: %w", err)
	}
	return exec.CommandContext(ctx, b.curl.path, append(curlArgs(k), "-K", file)...), nil
}
