package stages

import (
	"fmt"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// CheckTemplate says why t cannot be the template of WithTemplate, or
// returns nil: a template needs a {} or a {raw} to put each line in, or
// every line would fetch the same URL. "" means no template, and is fine.
func CheckTemplate(t string) error {
	if t != "" && !strings.Contains(t, "{}") && !strings.Contains(t, "{raw}") {
		return fmt.Errorf("template %q has no {} or {raw} to put the input in", t)
	}
	return nil
}

// CheckHeader says why name and value cannot be sent as a header
// (WithHeader), or returns nil.
func CheckHeader(name, value string) error {
	switch {
	case !httpguts.ValidHeaderFieldName(name):
		return fmt.Errorf("header name %q is not a token: letters, digits and -", name)
	case !httpguts.ValidHeaderFieldValue(value):
		return fmt.Errorf("header %s has a value with a line break or a control character", name)
	}
	return nil
}

// CheckMethod says why m cannot be an HTTP method (WithMethod), or returns
// nil: a method is a token, as a header name is.
func CheckMethod(m string) error {
	if !httpguts.ValidHeaderFieldName(m) {
		return fmt.Errorf("%q is not an HTTP method", m)
	}
	return nil
}

// CheckURL says why Fetch could not make a request of raw, an absolute
// http or https URL, or returns nil: the invalid_input error its record
// would hold, with any password masked.
func CheckURL(raw string) error {
	if err := checkURL(raw, Redact(raw)); err != nil {
		return err
	}
	return nil
}
