package stages

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRedact: no URL lets its password through redact, and no message
// lets through what a URL it quotes holds before its "@".
func FuzzRedact(f *testing.F) {
	for _, s := range [][2]string{{"pw", "x"}, {"p/w", "a/b?c#d"}, {"p?w", "q=a@b"}, {"p#w", ""}, {"p@w", "@"}, {"12/", "x"}} {
		f.Add("alice", s[0], "host:8080", s[1])
	}
	f.Fuzz(func(t *testing.T, user, password, host, rest string) {
		const secret = "S3CR3T"
		raw := "http://" + user + ":" + password + secret + "@" + host + "/" + rest
		got := redact(raw)
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && strings.Contains(pw, secret) && strings.Contains(got, secret) {
				t.Fatalf("redact(%q) = %q shows the password", raw, got)
			}
		} else if err != nil && strings.Contains(got, secret) && !strings.Contains(raw[strings.LastIndex(raw, "@"):], secret) {
			t.Fatalf("redact(%q) = %q shows what comes before its last @", raw, got)
		}
		msg := `cannot follow "` + raw + `": it is bad`
		if !strings.ContainsAny(raw, " \t\r\n\"'\\<>`") && strings.Contains(redactText(msg), secret) && !strings.Contains(raw[strings.LastIndex(raw, "@"):], secret) {
			t.Fatalf("redactText(%q) = %q shows the password", msg, redactText(msg))
		}
	})
}

// TestRedactWithoutAScheme: text with no "://" is masked up to the last
// "@" before its first "/", after a scheme and slashes if any.
func TestRedactWithoutAScheme(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"u:secret@host/x", "u:xxxxx@host/x"}, // a user name, or a scheme: the password is masked either way
		{"//u:secret@host/x", "//xxxxx@host/x"},
		{"http:/u:secret@host/x", "http:/xxxxx@host/x"},
		{"host:8080/@user", "host:8080/@user"},
		{"mailto:a@b", "mailto:xxxxx@b"},
	}
	for _, tt := range tests {
		if got := redact(tt.raw); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
