package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

// fakeServer is "fetchpipe serve-fake" running as a process of its own: one
// process cannot hold both ends of 10,000 connections under a 20,000
// open-file limit, and the client's CPU and RSS must be measured alone.
type fakeServer struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	url    string
	pid    int
	stderr *serverLog
	http   *http.Client
}

// serverStart is how long a server may take to say where it listens.
const serverStart = 10 * time.Second

// serverSpec is a fake API to start: where it listens (HOST:0 for a free
// port) and the flags of serve-fake it takes beyond --addr.
type serverSpec struct {
	addr  string
	flags []string
}

// serverFlags are the flags of a fake API with the given --latency and
// --posts (0: the server's default, about 1.9 KB a body).
func serverFlags(latency string, posts int) []string {
	flags := []string{"--latency", latency}
	if posts > 0 {
		flags = append(flags, "--posts", strconv.Itoa(posts))
	}
	return flags
}

// startServer runs bin serve-fake as spec says, and returns once the
// server has printed its URL.
func startServer(ctx context.Context, bin string, spec serverSpec) (*fakeServer, error) {
	args := append([]string{"serve-fake", "--addr", spec.addr}, spec.flags...)
	sctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(sctx, bin, args...)
	// Interrupt, not kill: the server then closes its connections and says
	// what it served. A server that does not stop is killed after WaitDelay.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	log := &serverLog{ready: make(chan string, 1)}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("starting the fake API: %w", err)
	}
	s := &fakeServer{cmd: cmd, cancel: cancel, stderr: log, pid: cmd.Process.Pid, http: &http.Client{Timeout: 30 * time.Second}}
	select {
	case s.url = <-log.ready:
		return s, nil
	case <-time.After(serverStart):
	case <-ctx.Done():
	}
	s.close()
	return nil, fmt.Errorf("the fake API did not say where it listens within %v: %s", serverStart, log.String())
}

// reset zeroes the server's counters, so that the next stats are one run's.
func (s *fakeServer) reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/stats/reset", nil)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("resetting the fake API's stats: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("resetting the fake API's stats: %s", resp.Status)
	}
	return nil
}

// stats is what the server saw since the last reset.
func (s *fakeServer) stats(ctx context.Context) (fakeapi.Stats, error) {
	var st fakeapi.Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/stats", nil)
	if err != nil {
		return st, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return st, fmt.Errorf("reading the fake API's stats: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("reading the fake API's stats: %w", err)
	}
	return st, nil
}

// close stops the server and waits for it; nothing it started is left.
func (s *fakeServer) close() {
	s.http.CloseIdleConnections()
	s.cancel()
	_ = s.cmd.Wait() // an interrupted server exits with 130; that is its normal end
}

var listening = regexp.MustCompile(`listening on (http://[^\s]+)`)

// serverLog is the server's stderr: it hands over the URL from the
// "listening on" line, and keeps the end of what follows for messages.
// exec.Cmd writes to it from one goroutine; String is for after Wait, or
// for a server that never started.
type serverLog struct {
	mu    sync.Mutex
	buf   tail
	line  []byte
	ready chan string
	sent  bool
}

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.max == 0 {
		l.buf.max = 4096
	}
	_, _ = l.buf.Write(p)
	if !l.sent {
		l.line = append(l.line, p...)
		for {
			i := bytes.IndexByte(l.line, '\n')
			if i < 0 {
				break
			}
			if m := listening.FindSubmatch(l.line[:i]); m != nil {
				l.ready <- string(m[1])
				l.sent, l.line = true, nil
				break
			}
			l.line = l.line[i+1:]
		}
	}
	return len(p), nil
}

func (l *serverLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
