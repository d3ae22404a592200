package fakeapi_test

import (
	"fmt"
	"net/http"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

// A test starts a fake API, makes its first request fail, and then asks the
// server what the client did.
func ExampleStart() {
	s, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{Seed: 1})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	client := &http.Client{Transport: &http.Transport{}}
	for range 2 {
		resp, err := client.Get(s.URL() + "/r/golang.json?fail=1&id=job-7&retry_after=1")
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Printf("%s retry-after=%q\n", resp.Status, resp.Header.Get("Retry-After"))
	}

	st := s.Handler().Stats()
	fmt.Printf("requests=%d 503s=%d 200s=%d\n", st.Requests, st.ByStatus[503], st.ByStatus[200])
	// Output:
	// 503 Service Unavailable retry-after="1"
	// 200 OK retry-after=""
	// requests=2 503s=1 200s=1
}
