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
// that does not parse as a URL is masked from "://" to its last "@", as a
// password with a raw "/", "?" or "#" often makes a URL that does not
// parse. Text with no "://" (u:pw@host/x, //u:pw@host/x) is masked up to
// the last "@" before its first "/" after the scheme and slashes. A URL
// that parses without user info is returned as is: in
// http://u:12/34@host/ the "@" is in the path, for every URL parser.
func redact(raw string) string {
	if !strings.Contains(raw, "@") {
		return raw
	}
	i := strings.Index(raw, "://")
	if i < 0 {
		// After a scheme and slashes, if any (//u:pw@h/, http:/u:pw@h/).
		start := 0
		if c := strings.IndexByte(raw, ':'); c > 0 && strings.IndexByte(raw[:c], '@') < 0 && strings.IndexByte(raw[:c], '/') < 0 {
			start = c + 1
		}
		for start < len(raw) && raw[start] == '/' {
			start++
		}
		end := strings.IndexByte(raw[start:], '/')
		if end < 0 {
			end = len(raw) - start
		}
		if at := strings.LastIndex(raw[start:start+end], "@"); at >= 0 {
			return raw[:start] + masked + raw[start+at:]
		}
		return raw
	}
	if u, err := url.Parse(raw); err == nil {
		if u.User == nil {
			return raw
		}
		return redactURL(u)
	}
	rest := raw[i+3:]
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return raw
	}
	return raw[:i+3] + masked + rest[at:]
}

// redactText masks what may be credentials in URLs inside a message, such
// as one quoted from a Location header or from a line of input: from each
// "://" to the last "@" of the message, since a password may hold any
// character, quotes and spaces too, once it is quoted. What it masks is
// masked wherever else the message quotes a piece of it, as a parser's
// error does ("invalid port \":pw\""). A message is not a URL, so masking
// too much is harmless.
func redactText(msg string) string {
	at := strings.LastIndex(msg, "@")
	if at < 0 {
		return msg
	}
	i := strings.Index(msg, "://")
	if i < 0 || i > at {
		return msg
	}
	secret := msg[i+3 : at]
	if isMasked(secret) {
		return msg
	}
	rest := msg[at:]
	// Pieces of each user info the span holds (from a "://" to the next
	// "@") that the rest quotes, such as a password's head that a parser
	// took for a port; short pieces too, as a leak of a few characters is
	// still a leak.
	for span := secret; ; {
		userinfo, after, found := strings.Cut(span, "@")
		if k := strings.LastIndex(userinfo, "://"); k >= 0 {
			userinfo = userinfo[k+3:]
		}
		for _, piece := range strings.FieldsFunc(userinfo, func(r rune) bool {
			return strings.ContainsRune(":/?#\"' \\", r)
		}) {
			if len(piece) >= 2 && piece != masked {
				rest = strings.ReplaceAll(rest, piece, masked)
			}
		}
		if !found {
			break
		}
		span = after
	}
	return msg[:i+3] + masked + rest
}

// Redact returns the URL raw with any credentials masked, as records and
// messages show URLs: a password, or a user name that stands alone (a
// token), shows as "xxxxx", whether raw parses or not. For a program that
// shows URLs of its own, such as a dry run.
func Redact(raw string) string { return redact(raw) }

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
