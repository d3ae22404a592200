package fetchtest_test

import (
	"context"
	"fmt"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
	"github.com/fetchpipe/fetchpipe/stages/fetchtest"
)

// A test of a pipeline's retries: the first two requests for "golang" are
// refused with 429, the third is answered, and the server counts them.
func Example() {
	srv := fetchtest.NewServer()
	defer srv.Close()

	p := pipeline.New(context.Background())
	reqs := stages.URLs(p, []string{"golang", "rust"},
		stages.WithTemplate(srv.URL+"/r/{}.json?fail=2&status=429&id={}"))
	for rec, err := range pipeline.All(stages.Fetch(reqs, stages.WithInputOrder(), stages.WithRetries(3), stages.WithMaxRetryWait(0))) {
		if err != nil {
			panic(err)
		}
		fmt.Printf("seq=%d ok=%v attempts=%d\n", rec.Seq, rec.OK(), rec.Attempts)
	}
	st := srv.Stats()
	fmt.Printf("requests=%d 429s=%d 200s=%d\n", st.Requests, st.ByStatus[429], st.ByStatus[200])
	// Output:
	// seq=0 ok=true attempts=3
	// seq=1 ok=true attempts=3
	// requests=6 429s=4 200s=2
}
