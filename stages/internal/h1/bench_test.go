package h1_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/stages/internal/h1"
)

// BenchmarkRoundTrip compares a request and its 2 KB body read whole, on
// kept-alive connections, through Transport and through net/http's. The
// server shares the process: the figures are of both ends, and the
// difference between the two is the clients'.
func BenchmarkRoundTrip(b *testing.B) {
	body := strings.Repeat("x", 2<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	defer srv.Close()
	transports := []struct {
		name string
		rt   http.RoundTripper
	}{
		{"h1", &h1.Transport{Fallback: http.DefaultTransport, MaxIdleConnsPerHost: 64}},
		{"net-http", &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	for _, tt := range transports {
		b.Run(tt.name, func(b *testing.B) {
			defer tt.rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", srv.URL, nil)
					resp, err := tt.rt.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
