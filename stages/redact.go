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
// that does not parse as a URL is masked from "://" to the last "@" of its
// authority. A URL without "@" is returned as is, at no cost.
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
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw
	}
	return raw[:i+3] + masked + rest[at:]
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
