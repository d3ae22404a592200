package fakeapi_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

func TestSilent(t *testing.T) {
	addr, closeAddr, err := fakeapi.Silent()
	if err != nil {
		t.Skip(err)
	}
	defer closeAddr()
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err == nil {
		c.Close()
		t.Fatalf("a connection to %s was answered", addr)
	}
	if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
		t.Errorf("dial: %v, want a timeout (not a refusal)", err)
	}
}
