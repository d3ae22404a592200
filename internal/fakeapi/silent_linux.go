package fakeapi

import (
	"fmt"
	"net"
	"syscall"
	"time"
)

// Silent opens a loopback address whose connection attempts go unanswered,
// as a firewalled host's do, for testing connect timeouts offline: a
// listener that never accepts, with its queue of finished handshakes full.
// Linux then drops further SYNs rather than refusing them, so a dial waits
// until its own time limit. close releases the address.
func Silent() (addr string, close func(), err error) {
	// CLOEXEC, as Go's own sockets are: a child process must not inherit
	// the listener and keep the port open.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	var held []net.Conn
	close = func() {
		for _, c := range held {
			c.Close()
		}
		syscall.Close(fd)
	}
	sa, err := listen(fd)
	if err != nil {
		close()
		return "", nil, err
	}
	addr = fmt.Sprintf("127.0.0.1:%d", sa.Port)
	// Fill the queue: dials succeed until it is full, then time out.
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr, close, nil
		}
		held = append(held, c)
	}
	close()
	return "", nil, fmt.Errorf("fakeapi: the kernel kept accepting connections on %s", addr)
}

func listen(fd int) (*syscall.SockaddrInet4, error) {
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return nil, err
	}
	if err := syscall.Listen(fd, 0); err != nil {
		return nil, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	return sa.(*syscall.SockaddrInet4), nil
}
