//go:build !linux

package fakeapi

import "errors"

// Silent would open an address whose connection attempts go unanswered;
// only Linux's listen queue lets it do so without a firewall.
func Silent() (addr string, close func(), err error) {
	return "", nil, errors.New("fakeapi: Silent needs Linux")
}
