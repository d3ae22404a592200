package stages

// A Kind names the class of an item's failure. The names are stable: they
// appear in every error record and scripts match on them.
type Kind string

// The kinds of failure an item's Record can carry.
const (
	KindInvalidInput Kind = "invalid_input" // the input item is not a request that can be made
	KindDNS          Kind = "dns"           // the host name could not be resolved
	KindConnect      Kind = "connect"       // no connection could be made (refused, unreachable)
	KindTLS          Kind = "tls"           // the TLS handshake or certificate check failed
	KindTimeout      Kind = "timeout"       // an attempt took longer than its time limit
	KindNetwork      Kind = "network"       // the connection broke mid-exchange (reset, closed early)
	KindHTTPStatus   Kind = "http_status"   // the server answered with a status other than 2xx
	KindTooLarge     Kind = "too_large"     // the body is larger than the cap
	KindDecode       Kind = "decode"        // the body could not be decoded as asked (not JSON, say)
	KindRedirect     Kind = "redirect"      // a redirect loop, or too many redirects
	KindCanceled     Kind = "canceled"      // the run was interrupted before the item finished
	KindOther        Kind = "other"         // anything else; the message says what
)

// An Error is an item's failure: data that travels in its Record, not a
// reason to stop the run.
type Error struct {
	Kind    Kind
	Message string // says what happened, in words meant for a person
	// Err is what caused it, where something did: the network's error
	// for a failed connection, context.DeadlineExceeded for a timeout,
	// the run's cause for a cancel. It never holds the request's URL,
	// which may carry credentials. Nil for failures fetchpipe found
	// itself, such as a status other than 2xx.
	Err error
}

// Error returns the kind and the message; not the cause, which the
// message puts in words.
func (e *Error) Error() string { return string(e.Kind) + ": " + e.Message }

// Unwrap returns the cause, so that errors.Is(rec.Err,
// context.DeadlineExceeded) and errors.As(rec.Err, &netErr) work.
func (e *Error) Unwrap() error { return e.Err }

// newError makes an item's Error. Credentials in a URL the message quotes
// are masked here, where every message passes.
func newError(kind Kind, msg string) *Error { return &Error{Kind: kind, Message: redactText(msg)} }

func causedBy(kind Kind, msg string, cause error) *Error {
	return &Error{Kind: kind, Message: redactText(msg), Err: cause}
}
