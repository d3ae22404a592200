//go:build unix

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

// asCommand names the environment variable that makes the test binary run
// the command with the arguments it holds, separated by US (0x1f).
const asCommand = "FETCHPIPE_TEST_AS_COMMAND"

// limitFiles sets the open-file limit of a process started by command to
// $FETCHPIPE_TEST_NOFILE, and opens $FETCHPIPE_TEST_HOLD files, to run the
// command short of descriptors.
func limitFiles() {
	if n, err := strconv.Atoi(os.Getenv("FETCHPIPE_TEST_NOFILE")); err == nil {
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: uint64(n), Max: uint64(n)})
	}
	hold, _ := strconv.Atoi(os.Getenv("FETCHPIPE_TEST_HOLD"))
	for range hold {
		os.Open(os.DevNull)
	}
}

// command starts the command as a process of its own, on stdin, with a
// pipe for stdout that the caller reads or leaves full.
func command(t *testing.T, stdin string, args ...string) (cmd *exec.Cmd, stdout io.ReadCloser, stderr *bytes.Buffer) {
	return commandIn(t, nil, stdin, args...)
}

// commandIn is command with more variables in its environment.
func commandIn(t *testing.T, env []string, stdin string, args ...string) (cmd *exec.Cmd, stdout io.ReadCloser, stderr *bytes.Buffer) {
	t.Helper()
	cmd = exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), env...), asCommand+"="+strings.Join(args, "\x1f"))
	cmd.Stdin = strings.NewReader(stdin)
	stderr = new(bytes.Buffer)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, stdout, stderr
}

func exitStatus(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestSignalSentTwiceAtOnceIsOne: GNU timeout sends SIGTERM to the process
// and to its group, and the two arrive milliseconds apart; the second was
// taken for "quit at once", and the items whose records were not written
// yet got none. Now every item gets its record and the run exits 130,
// here with an output that a slow reader holds up meanwhile.
func TestSignalSentTwiceAtOnceIsOne(t *testing.T) {
	srv := fakeServer(t, fakeapi.Config{Posts: 200}) // ~70 KB a record: a few fill the pipe
	var in strings.Builder
	for i := range 30 {
		fmt.Fprintf(&in, "%s/r/%d.json\n", srv.URL(), i)
	}
	cmd, stdout, stderr := command(t, in.String())
	waitFor(t, "the output to block", func() bool { return srv.Handler().Stats().Requests >= 8 })
	cmd.Process.Signal(syscall.SIGTERM) // as timeout sends them: to the process,
	time.Sleep(5 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM) // then to its group
	time.Sleep(100 * time.Millisecond)  // the reader is slow
	out, _ := io.ReadAll(stdout)
	if code := exitStatus(t, cmd); code != exitInterrupted {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	// The run stops reading at the signal: the items read before it are
	// a prefix of the input, and each must have its record.
	recs := parseRecords(t, out)
	seen := make(map[int64]bool)
	for _, r := range recs {
		seen[r.Seq] = true
	}
	for seq := range int64(len(recs)) {
		if !seen[seq] {
			t.Errorf("no record for item %d of the %d read", seq, len(recs))
		}
	}
	if want := fmt.Sprintf("interrupted after %d records", len(recs)); !strings.Contains(stderr.String(), want) || strings.Contains(stderr.String(), "quitting at once") {
		t.Errorf("stderr does not say %q, or says the run quit at once:\n%s", want, stderr)
	}
}

// TestSecondSignalQuitsAndSaysWhatIsLost: a second signal more than a
// second after the first quits at once, here while the output is blocked
// (nobody reads it), and says how many items read may have no record.
func TestSecondSignalQuitsAndSaysWhatIsLost(t *testing.T) {
	srv := fakeServer(t, fakeapi.Config{Posts: 200}) // ~70 KB a record: a few fill the pipe
	var in strings.Builder
	for i := range 20 {
		fmt.Fprintf(&in, "%s/r/%d.json\n", srv.URL(), i)
	}
	cmd, stdout, stderr := command(t, in.String(), "-c", "4")
	defer stdout.Close()
	waitFor(t, "the output to block", func() bool { return srv.Handler().Stats().Requests >= 12 })
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(doubleSignal + 200*time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	if code := exitStatus(t, cmd); code != exitInterrupted {
		t.Errorf("exit status %d, want %d", code, exitInterrupted)
	}
	if !strings.Contains(stderr.String(), "interrupted again: quitting at once") || !strings.Contains(stderr.String(), "read") {
		t.Errorf("stderr does not say what a quit at once lost:\n%s", stderr)
	}
}

// TestOpenFileLimit: a -c the open-file limit cannot hold is a usage error
// that names the limit, not a run that fails; and a run that runs out of
// descriptors all the same (others hold them) says the fault is local, in
// an "other" record, rather than blaming the server with a retried
// "connect".
func TestOpenFileLimit(t *testing.T) {
	srv := fakeServer(t, fakeapi.Config{})
	t.Run("-c over the limit", func(t *testing.T) {
		cmd, stdout, stderr := commandIn(t, []string{"FETCHPIPE_TEST_NOFILE=200"}, "", "-c", "500", srv.URL()+"/r/a.json")
		io.ReadAll(stdout)
		if code := exitStatus(t, cmd); code != exitUsage || !strings.Contains(stderr.String(), "open-file limit allows 136 requests") {
			t.Errorf("exit status %d, stderr %q; want %d naming the limit", code, stderr, exitUsage)
		}
	})
	t.Run("out of descriptors", func(t *testing.T) {
		var in strings.Builder
		for i := range 60 {
			fmt.Fprintf(&in, "%s/r/%d.json?hang=1\n", srv.URL(), i)
		}
		cmd, stdout, stderr := commandIn(t, []string{"FETCHPIPE_TEST_NOFILE=200", "FETCHPIPE_TEST_HOLD=170"}, in.String(), "-c", "60", "--deadline", "2s", "-d", "none")
		out, _ := io.ReadAll(stdout)
		exitStatus(t, cmd)
		local := 0
		for _, r := range parseRecords(t, out) {
			if r.kind() == "other" && strings.Contains(r.Error.Message, "too many open files here") {
				local++
			}
			if r.kind() == "connect" {
				t.Errorf("record %d blames the server: %s", r.Seq, r.Error.Message)
			}
		}
		if local == 0 {
			t.Errorf("no record says the descriptors ran out here:\n%s\n%s", out, stderr)
		}
	})
}
