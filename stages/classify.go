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
		return causedBy(KindTooLarge, tooLarge.Error(), bare(err))
	case errors.As(err, new(flate.CorruptInputError)), errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader),
		errors.Is(err, zlib.ErrChecksum), errors.Is(err, zlib.ErrHeader), errors.Is(err, zlib.ErrDictionary):
		return causedBy(KindDecode, "compressed body is corrupt: "+err.Error(), bare(err))
	case run.Err() != nil:
		return causedBy(KindCanceled, "canceled "+phase+": "+stopReason(f.run), context.Cause(run))
	case context.Cause(attempt) == errAttemptTimeout:
		return causedBy(KindTimeout, fmt.Sprintf("timeout after %s %s", f.timeout, phase), context.DeadlineExceeded)
	case errors.As(err, &redirect):
		return causedBy(KindRedirect, redirect.Error(), bare(err))
	case errors.As(err, &dns):
		reason := dns.Err
		if dns.IsNotFound {
			reason = "no such host"
		}
		return causedBy(KindDNS, fmt.Sprintf("cannot resolve host %q: %s", dns.Name, reason), bare(err))
	case isTLS(err):
		if isPlainHTTP(err) {
			return causedBy(KindTLS, "TLS failed: the server answered in plain HTTP; try http:// instead of https://", bare(err))
		}
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) {
			return causedBy(KindTLS, "TLS failed: "+bare(err).Error()+"; if the server's authority is a private one, give its certificate (--cacert FILE), or skip the check (-k)", bare(err))
		}
		return causedBy(KindTLS, "TLS failed: "+bare(err).Error(), bare(err))
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		// Local, not the server's doing, and no retry mends it soon.
		return causedBy(KindOther, fmt.Sprintf("too many open files here (the limit is %d): lower the concurrency, or raise the limit ('ulimit -n')", openFileLimit()), bare(err))
	case errors.As(err, &op) && op.Op == "dial":
		switch {
		case f.settings.client == nil && f.connectTimeout > 0 && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)):
			// Fetch's own dialer gave up (the run's and the attempt's ends
			// are told apart above), so the limit is known. A kernel that
			// gave up first (ETIMEDOUT) is the case below.
			return causedBy(KindTimeout, fmt.Sprintf("timeout after %s connecting to %s", f.connectTimeout, addr(op)), bare(err))
		case op.Timeout():
			return causedBy(KindTimeout, "timeout connecting to "+addr(op), bare(err))
		case errors.Is(err, syscall.ECONNREFUSED):
			return causedBy(KindConnect, "connection refused by "+addr(op), bare(err))
		}
		return causedBy(KindConnect, fmt.Sprintf("cannot connect to %s: %v", addr(op), op.Err), bare(err))
	case strings.Contains(err.Error(), "failed to parse Location header"):
		// net/http quotes the Location, credentials and all: newError
		// masks them.
		return causedBy(KindRedirect, "redirect to a Location that is not a URL: "+bare(err).Error(), bare(err))
	case strings.Contains(err.Error(), "malformed HTTP"):
		// net/http says "transport connection broken", which reads as a
		// network failure; the server spoke, but not HTTP.
		_, detail, _ := strings.Cut(bare(err).Error(), "malformed HTTP ")
		return causedBy(KindOther, "the server's response is not valid HTTP: malformed "+detail, bare(err))
	case errors.Is(err, syscall.ECONNRESET):
		return causedBy(KindNetwork, "connection reset by the server while "+phase, bare(err))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.EPIPE):
		return causedBy(KindNetwork, "connection closed by the server while "+phase, bare(err))
	case errors.As(err, &netErr) && netErr.Timeout():
		return causedBy(KindTimeout, "timeout "+phase+": "+bare(err).Error(), bare(err))
	}
	return causedBy(KindOther, bare(err).Error(), bare(err))
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
