package stages_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

func TestConnectTimeout(t *testing.T) {
	addr, closeAddr, err := fakeapi.Silent()
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(closeAddr)
	p := pipeline.New(t.Context())
	// The attempt may take 10 s: only the connect timeout can end it sooner.
	r := collect(t, stages.Fetch(stages.URLs(p, []string{"http://" + addr + "/r/x.json"}), stages.WithRetries(0),
		stages.WithTimeout(10*time.Second), stages.WithConnectTimeout(300*time.Millisecond)))[0]
	if r.Err == nil || r.Err.Kind != stages.KindTimeout || !strings.HasPrefix(r.Err.Message, "timeout after 300ms connecting to 127.0.0.1:") {
		t.Fatalf("error %v, want a timeout connecting", r.Err)
	}
}
