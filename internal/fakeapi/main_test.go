package fakeapi

import (
	"context"
	"io"
	"net/http"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start runs a Server for the rest of the test and closes it, with a fresh
// client's idle connections, when the test ends.
func start(t *testing.T, cfg Config) (*Server, *http.Client) {
	t.Helper()
	s, err := Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, &http.Client{Transport: tr}
}

// get fetches path and reads the whole body; a failure to read is returned,
// not fatal, because some cases are about exactly that.
func get(ctx context.Context, c *http.Client, url string, header http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// mustGet is get for cases where any error is a test failure.
func mustGet(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := get(t.Context(), c, url, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp, body
}
