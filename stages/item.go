package stages

import (
	"encoding/hex"
	"slices"
	"strings"
)

// ItemOf returns the identity of an input item as read: a short hash of
// the text given, which is the same in every run, on every machine, for
// the same text. Sources set it as Request.Item from what they read:
// a line or an argument before any template (so a list whose only change
// is a password is a changed list), or a spec's canonical form. It is
// what resuming a run matches records by, and what sharding splits by.
func ItemOf(text string) string {
	h := fnv64(text)
	var b [8]byte
	for i := range b {
		b[i] = byte(h >> (56 - 8*i))
	}
	return hex.EncodeToString(b[:])
}

// specItem is the identity of a spec: its own id when it has one, else a
// hash of its canonical form, what makes the request (method, URL, headers
// in order of name, body) and not its meta, which only annotates the
// record. So two POSTs to one URL with different bodies are two items.
func specItem(id string, req *Request) string {
	if id != "" {
		return id
	}
	var b strings.Builder
	b.WriteString(strings.ToUpper(req.Method))
	b.WriteByte(0)
	b.WriteString(req.URL)
	keys := make([]string, 0, len(req.Header))
	for k := range req.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range req.Header[k] {
			b.WriteByte(0)
			b.WriteString(k)
			b.WriteByte(':')
			b.WriteString(v)
		}
	}
	b.WriteByte(0)
	b.Write(req.Body)
	return ItemOf(b.String())
}

// fnv64 is FNV-1a, 64 bits: stable by definition, and cheap on a short
// line.
func fnv64(text string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(text); i++ {
		h ^= uint64(text[i])
		h *= prime
	}
	return h
}
