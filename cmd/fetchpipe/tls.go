package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"

	"github.com/fetchpipe/fetchpipe/stages"
)

// tlsOption turns -k and --cacert into Fetch's TLS settings, or nil for
// the defaults. -k says on stderr that certificates go unchecked: a run
// that quietly trusts any server must not be mistaken for one that checks.
func (f *fetchFlags) tlsOption(stderr io.Writer) (stages.Option, error) {
	if !f.insecure && f.cacert == "" {
		return nil, nil
	}
	c := &tls.Config{}
	if f.cacert != "" {
		pem, err := os.ReadFile(f.cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s holds no PEM certificate", f.cacert)
		}
	}
	if f.insecure {
		fmt.Fprintln(stderr, "fetchpipe: warning: -k: servers' certificates are not checked; anyone on the way can answer for them")
		c.InsecureSkipVerify = true
	}
	return stages.WithTLS(c), nil
}
