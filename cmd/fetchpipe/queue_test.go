package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/internal/natstest"
)

// names returns n subreddit names, a line each.
func names(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "name%d\n", i)
	}
	return b.String()
}

// TestQueueWorkersShareAList: a list enqueued and fetched by two workers
// at once, one publishing its records and one writing them to a file:
// every item has exactly one record between them, and the queue ends
// empty.
func TestQueueWorkersShareAList(t *testing.T) {
	const n = 400
	url := natstest.Start(t)
	api := fake(t, fakeapi.Config{Latency: fakeapi.Latency{Min: 2 * time.Millisecond, Max: 4 * time.Millisecond}})
	queue := url + "/work"
	if r := runCmd(t, names(n), "enqueue", queue); r.code != exitOK || !strings.Contains(r.stderr, "enqueued 400 items on work as seq 1 to 400 (the seq of their records) (stream FETCHPIPE_WORK, consumer fetchpipe: max deliver 5") {
		t.Fatalf("enqueue: exit %d\n%s", r.code, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "out.ndjson")
	worker := []string{"--from", queue, "--until-empty", "-t", api + "/r/{}.json", "-c", "8", "--summary", "always"}
	var (
		wg   sync.WaitGroup
		a, b result
	)
	wg.Go(func() { a = runCmd(t, "", append(worker, "--to", url+"/results")...) })
	wg.Go(func() { b = runCmd(t, "", append(worker, "-o", out)...) })
	wg.Wait()
	for _, r := range []result{a, b} {
		if r.code != exitOK || !strings.Contains(r.stderr, "queue FETCHPIPE_WORK:") {
			t.Errorf("worker: exit %d\n%s", r.code, r.stderr)
		}
	}
	seen := make(map[int64]int)
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range parseRecords(t, file) {
		seen[r.Seq]++
	}
	_, js := natstest.Connect(t, url)
	published := readStream(t, js, "FETCHPIPE_RESULTS")
	for _, r := range published {
		seen[r.Seq]++
		if !r.OK || !strings.HasPrefix(r.URL, api+"/r/name") {
			t.Errorf("published %+v", r)
		}
	}
	if len(published) == 0 || len(published) == n {
		t.Errorf("the publishing worker did %d of %d items: the two did not share", len(published), n)
	}
	for seq := int64(1); seq <= n; seq++ { // a stream counts from 1
		if seen[seq] != 1 {
			t.Errorf("item at stream seq %d has %d records", seq, seen[seq])
		}
	}
	st, err := js.Stream(t.Context(), "FETCHPIPE_WORK")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := st.Info(t.Context()); err != nil || info.State.Msgs != 0 {
		t.Errorf("work queue after the run: %+v, %v", info.State, err)
	}
}

// readStream reads every record in stream.
func readStream(t *testing.T, js jetstream.JetStream, stream string) []record {
	t.Helper()
	n := streamMsgs(t, js, stream)
	cons, err := js.OrderedConsumer(t.Context(), stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []record
	for range n {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, parseRecords(t, append(m.Data(), '\n'))...)
	}
	return out
}

// TestQueueWorkerInterrupted: an interrupted worker writes the records of
// what finished, gives back what it canceled, and exits 130; a worker
// after it fetches what is left, and nothing is fetched twice.
func TestQueueWorkerInterrupted(t *testing.T) {
	const n = 60
	url := natstest.Start(t)
	srv := fakeServer(t, fakeapi.Config{Latency: fakeapi.Latency{Min: 100 * time.Millisecond, Max: 100 * time.Millisecond}})
	queue := url + "/work"
	if r := runCmd(t, names(n), "enqueue", queue); r.code != exitOK {
		t.Fatalf("enqueue: exit %d\n%s", r.code, r.stderr)
	}
	worker := []string{"--from", queue, "-t", srv.URL() + "/r/{}.json", "-c", "5", "--grace", "0", "--summary", "always"}
	ctx, cancel := context.WithCancelCause(t.Context())
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancel(errInterrupted)
	}()
	var stdout, stderr strings.Builder
	code := run(ctx, worker, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr})
	first := parseRecords(t, []byte(stdout.String()))
	if code != exitInterrupted || len(first) == 0 || len(first) >= n || !strings.Contains(stderr.String(), "given back") {
		t.Fatalf("interrupted worker: exit %d, %d records\n%s", code, len(first), stderr.String())
	}
	for _, r := range first {
		if !r.OK {
			t.Errorf("the interrupted worker wrote %+v: a canceled item is given back, not written", r)
		}
	}
	r := runCmd(t, "", append(worker, "--until-empty")...)
	rest := parseRecords(t, r.stdout)
	if r.code != exitOK || len(first)+len(rest) != n {
		t.Errorf("second worker: exit %d, %d records after the first's %d, want %d in all\n%s", r.code, len(rest), len(first), n, r.stderr)
	}
	seen := make(map[int64]bool)
	for _, rec := range append(first, rest...) {
		if seen[rec.Seq] {
			t.Errorf("stream seq %d has two records", rec.Seq)
		}
		seen[rec.Seq] = true
	}
}

// TestQueueFlagsThatDoNotGoTogether: each says why.
func TestQueueFlagsThatDoNotGoTogether(t *testing.T) {
	const q = "nats://127.0.0.1:1/work"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", q, "--ordered"}, "--ordered does not go with --from"},
		{[]string{"--from", q, "--resume", "x"}, "--resume does not go with --from"},
		{[]string{"--from", q, "--shard", "0/2"}, "--shard does not go with --from"},
		{[]string{"--from", q, "https://example.com/"}, "give no input"},
		{[]string{"--from", q, "--dry-run"}, "--dry-run does not go with --from"},
		{[]string{"--to", q, "-o", "x"}, "give one or the other"},
		{[]string{"--to", q, "--raw-body"}, "--raw-body does not go with --to"},
		{[]string{"--until-empty"}, "--until-empty goes with --from"},
		{[]string{"--from", "http://127.0.0.1/work"}, "is not a NATS URL"},
		{[]string{"--from", "nats://127.0.0.1:1"}, "names no subject"},
		{[]string{"--from", "nats://127.0.0.1:1/work.*"}, "wildcard"},
		{[]string{"--from", "nats://u:secret@127.0.0.1:1/work"}, "cannot connect to NATS at nats://u:xxxxx@127.0.0.1:1"},
		{[]string{"--from", q, "--max-deliver", "0"}, "--max-deliver must be at least 1"},
		{[]string{"--from", q, "--nats-cert", "c.pem"}, "--nats-cert and --nats-key go together"},
		{[]string{"enqueue", "nats://127.0.0.1:1/work"}, "cannot connect to NATS"},
		{[]string{"enqueue"}, "requires at least 1 arg"},
		{[]string{"--from", q, "--to", q}, "--to names the queue of --from"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runCmd(t, "", tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "secret") {
				t.Errorf("exit %d, want %d, and stderr to say %q:\n%s", r.code, exitUsage, tc.want, r.stderr)
			}
		})
	}
}

// TestQueueCredentialsInTheURL: a user and password in the URL log in,
// and a wrong password is refused with the password masked.
func TestQueueCredentialsInTheURL(t *testing.T) {
	url := natstest.Start(t, func(o *server.Options) { o.Username, o.Password = "fetcher", "s3cret" })
	api := fake(t, fakeapi.Config{})
	authed := strings.Replace(url, "nats://", "nats://fetcher:s3cret@", 1)
	if r := runCmd(t, names(3), "enqueue", authed+"/work"); r.code != exitOK {
		t.Fatalf("enqueue: exit %d\n%s", r.code, r.stderr)
	}
	r := runCmd(t, "", "--from", authed+"/work", "--until-empty", "-t", api+"/r/{}.json")
	if recs := parseRecords(t, r.stdout); r.code != exitOK || len(recs) != 3 || strings.Contains(r.stderr, "s3cret") {
		t.Errorf("worker: exit %d, %d records\n%s", r.code, len(recs), r.stderr)
	}
	wrong := strings.Replace(url, "nats://", "nats://fetcher:wrong-s3cret@", 1)
	r = runCmd(t, "", "--from", wrong+"/work", "--until-empty")
	if r.code != exitUsage || !strings.Contains(r.stderr, "cannot connect to NATS at nats://fetcher:xxxxx@") || strings.Contains(r.stderr, "s3cret") {
		t.Errorf("a wrong password: exit %d\n%s", r.code, r.stderr)
	}
}

// TestQueueWorkerRefusesWhatItCannotFetch: a worker started without the -t
// its items need refuses to start, and terminates nothing; the subject of
// a stream that is not a work queue is refused.
func TestQueueWorkerRefusesWhatItCannotFetch(t *testing.T) {
	url := natstest.Start(t)
	if r := runCmd(t, names(5), "enqueue", url+"/work"); r.code != exitOK {
		t.Fatalf("enqueue: exit %d\n%s", r.code, r.stderr)
	}
	r := runCmd(t, "", "--from", url+"/work", "--until-empty")
	if r.code != exitUsage || !strings.Contains(r.stderr, `no item among the first waiting in the queue makes a request with these flags; the first, "name0" (stream FETCHPIPE_WORK, seq 1)`) ||
		!strings.Contains(r.stderr, "give -t") || len(r.stdout) > 0 {
		t.Errorf("a worker without -t: exit %d\n%s", r.code, r.stderr)
	}
	// The same subject by another name for the server.
	same := strings.Replace(url, "127.0.0.1", "localhost", 1)
	if r := runCmd(t, "", "--from", url+"/work", "-t", "http://127.0.0.1:1/{}", "--to", same+"/work"); r.code != exitUsage || !strings.Contains(r.stderr, "the queue of --from") {
		t.Errorf("--to the queue by another URL: exit %d\n%s", r.code, r.stderr)
	}
	_, js := natstest.Connect(t, url)
	if n := streamMsgs(t, js, "FETCHPIPE_WORK"); n != 5 {
		t.Errorf("the queue holds %d items after the refusals, want all 5", n)
	}
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "KEPT", Subjects: []string{"kept"}}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--from", url + "/kept"}, {"enqueue", url + "/kept"}} {
		if r := runCmd(t, "", args...); r.code != exitUsage || !strings.Contains(r.stderr, "is held by stream KEPT, which is not a work queue") {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
}

// streamMsgs returns how many messages stream holds.
func streamMsgs(t *testing.T, js jetstream.JetStream, stream string) uint64 {
	t.Helper()
	st, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestQueueWorkerAppendsToItsOutput: a worker started again with the same
// -o keeps the records of the items it did before, which the queue no
// longer holds, and cuts a line a kill tore; enqueueing again within the
// window stores nothing unless --again; the JSON summary counts the
// messages.
func TestQueueWorkerAppendsToItsOutput(t *testing.T) {
	url := natstest.Start(t)
	api := fake(t, fakeapi.Config{})
	out := filepath.Join(t.TempDir(), "out.ndjson")
	worker := []string{"--from", url + "/work", "--until-empty", "-t", api + "/r/{}.json", "-d", "none", "-o", out, "--summary", "json"}
	if r := runCmd(t, names(3), "enqueue", url+"/work"); r.code != exitOK {
		t.Fatalf("enqueue: exit %d\n%s", r.code, r.stderr)
	}
	r := runCmd(t, "", worker...)
	if r.code != exitOK || !strings.Contains(r.stderr, `"queue":{"pulled":3,"redelivered":0,"acked":3,"given_back":0,"terminated":0,"dead_letters":0,"unpublished":0}`) {
		t.Fatalf("first worker: exit %d\n%s", r.code, r.stderr)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":99,"url":"torn`) // a kill mid-line
	f.Close()
	held, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := lockFile(held); err != nil {
		t.Fatal(err)
	}
	if r := runCmd(t, "", worker...); r.code != exitUsage || !strings.Contains(r.stderr, "another run is writing it") || !strings.Contains(r.stderr, "its own file") {
		t.Errorf("a second worker on a file in use: exit %d\n%s", r.code, r.stderr)
	}
	held.Close()

	r = runCmd(t, names(3), "enqueue", url+"/work")
	if r.code != exitOK || !strings.Contains(r.stderr, "enqueued 0 items on work") || !strings.Contains(r.stderr, "3 not enqueued again") {
		t.Fatalf("enqueue again: exit %d\n%s", r.code, r.stderr)
	}
	r = runCmd(t, names(3), "enqueue", url+"/work", "--again")
	if r.code != exitOK || !strings.Contains(r.stderr, "enqueued 3 items on work as seq 4 to 6") {
		t.Fatalf("enqueue --again: exit %d\n%s", r.code, r.stderr)
	}
	if r = runCmd(t, "", worker...); r.code != exitOK {
		t.Fatalf("second worker: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, rec := range parseRecords(t, b) {
		seqs = append(seqs, rec.Seq)
	}
	slices.Sort(seqs)
	if fmt.Sprint(seqs) != "[1 2 3 4 5 6]" {
		t.Errorf("the output holds the records of seqs %v, want 1 to 6", seqs)
	}
}

// TestQueueEnqueueArguments: items given as arguments are enqueued, each
// one item, as a run takes them.
func TestQueueEnqueueArguments(t *testing.T) {
	url := natstest.Start(t)
	r := runCmd(t, "", "enqueue", url+"/work", "a", "b c", "#d")
	if r.code != exitOK || !strings.Contains(r.stderr, "enqueued 3 items on work as seq 1 to 3") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
}

// TestQueueWorkerInterruptedWhileNATSIsAway: a worker interrupted while
// its server is gone does not wait minutes for acknowledgements that
// cannot come: it ends within its grace and a few seconds, as interrupted.
func TestQueueWorkerInterruptedWhileNATSIsAway(t *testing.T) {
	srv := natstest.StartServer(t)
	url := srv.ClientURL()
	api := fake(t, fakeapi.Config{Latency: fakeapi.Latency{Min: 300 * time.Millisecond, Max: 300 * time.Millisecond}})
	if r := runCmd(t, names(20), "enqueue", url+"/work"); r.code != exitOK {
		t.Fatalf("enqueue: exit %d\n%s", r.code, r.stderr)
	}
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	go func() {
		time.Sleep(100 * time.Millisecond)
		srv.Shutdown()
		time.Sleep(500 * time.Millisecond)
		cancel(errInterrupted)
	}()
	var stdout, stderr strings.Builder
	start := time.Now()
	code := run(ctx, []string{"--from", url + "/work", "--to", url + "/results", "-t", api + "/r/{}.json", "-c", "4", "--grace", "1s"},
		env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr})
	if d := time.Since(start); code != exitInterrupted || d > 20*time.Second {
		t.Errorf("exit %d after %v, want %d within 20 s\n%s", code, d.Round(time.Millisecond), exitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "lost the connection to NATS") {
		t.Errorf("stderr does not say the connection was lost:\n%s", stderr.String())
	}
}

// TestQueueOverTLS: --nats-ca trusts a server's own authority; without it
// the server's certificate is refused, before anything is taken.
func TestQueueOverTLS(t *testing.T) {
	withTLS, ca := natstest.WithTLS(t)
	url := natstest.Start(t, withTLS)
	if r := runCmd(t, names(2), "enqueue", url+"/work", "--nats-ca", ca); r.code != exitOK || !strings.Contains(r.stderr, "enqueued 2 items") {
		t.Fatalf("enqueue over TLS: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCmd(t, names(2), "enqueue", url+"/work"); r.code != exitUsage || !strings.Contains(r.stderr, "cannot connect to NATS") {
		t.Errorf("enqueue without the CA: exit %d\n%s", r.code, r.stderr)
	}
}

// TestQueueWorkerDeadline: --deadline ends a worker as it ends a run:
// what finished is written, what it canceled goes back to the queue, and
// the exit status says the run was cut short.
func TestQueueWorkerDeadline(t *testing.T) {
	url := natstest.Start(t)
	srv := fakeServer(t, fakeapi.Config{Latency: fakeapi.Latency{Min: 200 * time.Millisecond, Max: 200 * time.Millisecond}})
	if r := runCmd(t, names(40), "enqueue", url+"/work"); r.code != exitOK {
		t.Fatalf("enqueue: exit %d\n%s", r.code, r.stderr)
	}
	r := runCmd(t, "", "--from", url+"/work", "-t", srv.URL()+"/r/{}.json", "-c", "4", "--deadline", "500ms", "--summary", "always")
	recs := parseRecords(t, r.stdout)
	if r.code != exitFailed || len(recs) == 0 || len(recs) >= 40 || !strings.Contains(r.stderr, "deadline of 500ms reached") || !strings.Contains(r.stderr, "given back") {
		t.Errorf("exit %d, %d records\n%s", r.code, len(recs), r.stderr)
	}
	_, js := natstest.Connect(t, url)
	if left := streamMsgs(t, js, "FETCHPIPE_WORK"); int(left)+len(recs) != 40 {
		t.Errorf("%d records and %d items left in the queue, want 40 in all", len(recs), left)
	}
}

// TestQueueOneBadItemFirst: one item a worker cannot fetch at the head of
// the queue does not stop workers: it gets its
// invalid_input record, and the rest are fetched. A whole record at the
// end of the output without its line break (an editor's) is kept.
func TestQueueOneBadItemFirst(t *testing.T) {
	url := natstest.Start(t)
	api := fake(t, fakeapi.Config{})
	if r := runCmd(t, "..\n"+names(3), "enqueue", url+"/work"); r.code != exitOK { // ".." is no path segment
		t.Fatalf("enqueue: exit %d\n%s", r.code, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "out.ndjson")
	if err := os.WriteFile(out, []byte(`{"seq":0,"url":"kept","ok":true}`), 0o666); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, "", "--from", url+"/work", "--until-empty", "-t", api+"/r/{}.json", "-d", "none", "-o", out)
	b, _ := os.ReadFile(out)
	recs := parseRecords(t, b)
	if r.code != exitFailed || len(recs) != 5 || recs[0].URL != "kept" {
		t.Errorf("exit %d, %d records\n%s\n%s", r.code, len(recs), b, r.stderr)
	}
}
