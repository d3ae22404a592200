package fakeapi

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// A listing is built by appending bytes, not by encoding/json: the body is on
// the hot path of every benchmark that uses this server, and its shape never
// changes.

const (
	idLen        = 7
	maxTitleLen  = 12
	listingTail  = `],"before":null}}`
	createdEpoch = 1700000000
	createdSpan  = 90 * 24 * 3600
)

// appendListing appends the listing for the subreddit name to dst, its
// titles and selftext drawn from words.
//
// With target <= 0 it holds exactly posts posts. With target > 0 it holds as
// many posts as fit in target bytes (at least one), and the last post's
// selftext is padded so the body is exactly target bytes when that is
// possible, which is whenever target exceeds the one-post body.
func appendListing(dst []byte, seed uint64, name string, posts, target int, words *[128]string) []byte {
	start := len(dst)
	r := rng(hashKey(seed, name))
	var id, prev [idLen]byte
	var hdr [96]byte
	n := 0
	for target > 0 || n < posts {
		mark := len(dst)
		if n > 0 {
			dst = append(dst, ',')
		}
		prev = id
		dst = appendPost(dst, &r, name, &id, words)
		n++
		if target <= 0 {
			continue
		}
		size := len(appendHeader(hdr[:0], &id, n)) + len(dst) - start + len(listingTail)
		if size > target && n > 1 {
			dst, id = dst[:mark], prev
			n--
			break
		}
		if size >= target {
			break
		}
	}
	// The header names the last post and the count, so it is written last
	// and slid in front of the posts; the move is one memmove of the body.
	h := appendHeader(hdr[:0], &id, n)
	if target > 0 {
		if pad := target - (len(h) + len(dst) - start + len(listingTail)); pad > 0 {
			dst = padSelftext(dst, pad)
		}
	}
	dst = slices.Insert(dst, start, h...)
	return append(dst, listingTail...)
}

func appendHeader(dst []byte, lastID *[idLen]byte, n int) []byte {
	dst = append(dst, `{"kind":"Listing","data":{"after":"t3_`...)
	dst = append(dst, lastID[:]...)
	dst = append(dst, `","dist":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, `,"children":[`...)
}

// appendPost appends one post drawn from r and stores its id. selftext is the
// last field so that padSelftext can grow it in place.
func appendPost(dst []byte, r *rng, name string, id *[idLen]byte, words *[128]string) []byte {
	const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"
	x := r.next()
	for i := range id {
		id[i] = base36[x%36]
		x /= 36
	}
	var picked [maxTitleLen]string
	title := picked[:4+r.intn(maxTitleLen-3)]
	for i := range title {
		title[i] = pickFrom(r, words)
	}
	score := r.intn(r.intn(5000) + 1)

	dst = append(dst, `{"kind":"t3","data":{"id":"`...)
	dst = append(dst, id[:]...)
	dst = append(dst, `","subreddit":`...)
	dst = appendString(dst, name)
	dst = append(dst, `,"title":"`...)
	for i, w := range title {
		switch {
		case i == 0 && w[0] >= 'a' && w[0] <= 'z':
			// Capitalised like a title, where that is one ASCII byte.
			dst = append(dst, w[0]-'a'+'A')
			dst = append(dst, w[1:]...)
			continue
		case i > 0:
			dst = append(dst, ' ')
		}
		dst = append(dst, w...)
	}
	dst = append(dst, `","author":"`...)
	dst = append(dst, authorAdjectives[r.intn(len(authorAdjectives))]...)
	dst = append(dst, '_')
	dst = append(dst, authorAnimals[r.intn(len(authorAnimals))]...)
	dst = strconv.AppendInt(dst, int64(r.intn(100)), 10)
	dst = append(dst, `","score":`...)
	dst = strconv.AppendInt(dst, int64(score), 10)
	dst = append(dst, `,"num_comments":`...)
	dst = strconv.AppendInt(dst, int64(r.intn(score/3+1)), 10)
	dst = append(dst, `,"created_utc":`...)
	dst = strconv.AppendInt(dst, int64(createdEpoch+r.intn(createdSpan)), 10)
	dst = append(dst, `,"permalink":`...)
	dst = appendPermalink(dst, name, id, title)
	dst = append(dst, `,"url":"https://example.com/p/`...)
	dst = append(dst, id[:]...)
	dst = append(dst, `","selftext":"`...)
	for i, n := 0, r.intn(12); i < n; i++ {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, pickFrom(r, words)...)
	}
	return append(dst, `"}}`...)
}

// appendPermalink writes "/r/{name}/comments/{id}/{slug}/" as one JSON
// string. The slug is at most six title words, like Reddit's.
func appendPermalink(dst []byte, name string, id *[idLen]byte, title []string) []byte {
	dst = append(dst, `"/r/`...)
	dst = appendStringBody(dst, name)
	dst = append(dst, "/comments/"...)
	dst = append(dst, id[:]...)
	dst = append(dst, '/')
	for i, w := range title[:min(len(title), 6)] {
		if i > 0 {
			dst = append(dst, '_')
		}
		dst = append(dst, w...)
	}
	return append(dst, `/"`...)
}

// padSelftext grows the selftext of the post that ends dst by pad bytes of
// words, so a sized body still reads as text and still counts as words.
// They are ASCII words, so that cutting the last one short cannot split a
// character.
func padSelftext(dst []byte, pad int) []byte {
	const closing = `"}}`
	dst = dst[:len(dst)-len(closing)]
	r := rng(uint64(pad))
	for want := len(dst) + pad; len(dst) < want; {
		dst = append(dst, ' ')
		dst = append(dst, pickWord(&r)...)
		if len(dst) > want {
			dst = dst[:want]
		}
	}
	return append(dst, closing...)
}

// appendString appends s as a quoted JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendStringBody(dst, s)
	return append(dst, '"')
}

// appendStringBody escapes s for use inside a JSON string. Names arrive from
// the URL, so anything may be in them: quotes, backslashes, control bytes and
// invalid UTF-8 (which becomes U+FFFD, as encoding/json does).
func appendStringBody(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	done := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			rr, size := utf8.DecodeRuneInString(s[i:])
			if rr != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[done:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			done = i
			continue
		}
		dst = append(dst, s[done:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		done = i
	}
	return append(dst, s[done:]...)
}
