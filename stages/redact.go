package stages

import (
	"net/url"
	"strings"
)

// masked replaces a credential in a redacted URL, as url.URL.Redacted does.
const masked = "xxxxx"

// redact returns raw with its credentials masked, for records and messages.
// A password is masked, as url.URL.Redacted does, and so is a user name that
// stands alone, since that is how tokens travel (https://TOKEN@host/). Text
// that does not parse as a URL is masked from "://" to its last "@": a
// password may hold a raw "/", "?" or "#", which end the authority for a
// parser but not for the person who typed it. A URL without "@" is
// returned as is, at no cost.
func redact(raw string) string {
	if !strings.Contains(raw, "@") {
		return raw
	}
	if u, err := url.Parse(raw); err == nil {
		if u.User == nil {
			return raw
		}
		return redactURL(u)
	}
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return raw
	}
	return raw[:i+3] + masked + rest[at:]
}

// redactText masks what may be credentials in URLs inside a message, such
// as one quoted from a Location header or from a line of input: in each
// run of text that follows a "://", up to the first character that cannot
// be part of a URL (white space, a quote, a backslash), from the "://" to
// the last "@". A message is not a URL, so masking too much is harmless.
func redactText(msg string) string {
	if !strings.Contains(msg, "@") {
		return msg
	}
	var b strings.Builder
	for {
		i := strings.Index(msg, "://")
		if i < 0 {
			break
		}
		b.WriteString(msg[:i+3])
		msg = msg[i+3:]
		end := strings.IndexAny(msg, " \t\r\n\"'\\<>`")
		if end < 0 {
			end = len(msg)
		}
		// A URL that redact has masked already keeps its user name.
		if at := strings.LastIndex(msg[:end], "@"); at >= 0 && !isMasked(msg[:at]) {
			b.WriteString(masked)
			msg = msg[at:]
		}
	}
	b.WriteString(msg)
	return b.String()
}

// redactURL is redact for a parsed URL.
func redactURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	if _, ok := u.User.Password(); ok {
		c.User = url.UserPassword(u.User.Username(), masked)
	} else {
		c.User = url.User(masked)
	}
	return c.String()
}

// isMasked reports whether userinfo is what redact leaves: the mask, or a
// user name (which holds no ":") and the mask.
func isMasked(userinfo string) bool {
	return userinfo == masked || strings.Count(userinfo, ":") == 1 && strings.HasSuffix(userinfo, ":"+masked)
}
