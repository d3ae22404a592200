package stages

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
)

// errAttemptTimeout is the cause of an attempt's context when its own time
// limit ran out, which tells a timeout apart from an interrupted run.
var errAttemptTimeout = errors.New("attempt timed out")

// Phases of an attempt, for messages that say where it failed.
const (
	phaseHeaders = "waiting for response headers"
	phaseBody    = "reading the body"
)

// classify turns the error of an attempt into the record's Error: a kind a
// script can match on and a message a person understands. run is the
// context of the whole run, attempt the attempt's own.
func (f *fetcher) classify(err error, run, attempt context.Context, phase string) *Error {
	var (
		tooLarge *errTooLarge
		redirect *errRedirect
		dns      *net.DNSError
		op       *net.OpError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &tooLarge):
		return newError(KindTooLarge, tooLarge.Error())
	case errors.As(err, new(flate.CorruptInputError)), errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.Is(err, zlib.ErrChecksum):
		return newError(KindDecode, "compressed body is corrupt: "+err.Error())
	case run.Err() != nil:
		return newError(KindCanceled, "canceled "+phase+": the run was interrupted")
	case context.Cause(attempt) == errAttemptTimeout:
		return newError(KindTimeout, fmt.Sprintf("timeout after %s %s", f.timeout, phase))
	case errors.As(err, &redirect):
		return newError(KindRedirect, redirect.Error())
	case errors.As(err, &dns):
		reason := dns.Err
		if dns.IsNotFound {
			reason = "no such host"
		}
		return newError(KindDNS, fmt.Sprintf("cannot resolve host %q: %s", dns.Name, reason))
	case isTLS(err):
		if isPlainHTTP(err) {
			return newError(KindTLS, "TLS failed: the server answered in plain HTTP; try http:// instead of https://")
		}
		return newError(KindTLS, "TLS failed: "+bare(err).Error())
	case errors.As(err, &op) && op.Op == "dial":
		switch {
		case f.settings.client == nil && f.connectTimeout > 0 && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)):
			// Fetch's own dialer gave up (the run's and the attempt's ends
			// are told apart above), so the limit is known. A kernel that
			// gave up first (ETIMEDOUT) is the case below.
			return newError(KindTimeout, fmt.Sprintf("timeout after %s connecting to %s", f.connectTimeout, addr(op)))
		case op.Timeout():
			return newError(KindTimeout, "timeout connecting to "+addr(op))
		case errors.Is(err, syscall.ECONNREFUSED):
			return newError(KindConnect, "connection refused by "+addr(op))
		}
		return newError(KindConnect, fmt.Sprintf("cannot connect to %s: %v", addr(op), op.Err))
	case errors.Is(err, syscall.ECONNRESET):
		return newError(KindNetwork, "connection reset by the server while "+phase)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.EPIPE):
		return newError(KindNetwork, "connection closed by the server while "+phase)
	case errors.As(err, &netErr) && netErr.Timeout():
		return newError(KindTimeout, "timeout "+phase+": "+bare(err).Error())
	}
	return newError(KindOther, bare(err).Error())
}

// isPlainHTTP recognises an https:// request to a server that speaks plain
// HTTP. net/http reports it as text only, having dropped the TLS error.
func isPlainHTTP(err error) bool {
	return strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

func isTLS(err error) bool {
	if isPlainHTTP(err) {
		return true
	}
	var (
		verify   *tls.CertificateVerificationError
		header   tls.RecordHeaderError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// bare strips net/http's `Get "URL": ` wrapper: the record already says
// which URL it is about.
func bare(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func addr(op *net.OpError) string {
	if op.Addr != nil {
		return op.Addr.String()
	}
	return "the server"
}
