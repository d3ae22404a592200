package fakeapi

import (
	"strconv"
	"strings"
)

// commentsPath extracts {name} and {id} from the path of a post's comments,
// /r/{name}/comments/{id}.json, or with the slug of a permalink,
// /r/{name}/comments/{id}/{slug}/.json, as Reddit serves them: so a client
// can follow a listing's permalinks.
func commentsPath(path string) (name, id string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/r/")
	if !ok {
		return "", "", false
	}
	rest, ok = strings.CutSuffix(rest, ".json")
	if !ok {
		return "", "", false
	}
	name, rest, ok = strings.Cut(rest, "/comments/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", "", false
	}
	id, _, _ = strings.Cut(rest, "/")
	if len(id) != idLen {
		return "", "", false
	}
	return name, id, true
}

// appendComments appends the comments of post id in subreddit name: a
// listing of one to five comments, each drawn from the seed and the id
// alone, so they are the same on every run.
func appendComments(dst []byte, seed uint64, name, id string) []byte {
	r := rng(hashKey(seed, name+"/comments/"+id))
	n := 1 + r.intn(5)
	dst = append(dst, `{"kind":"Listing","data":{"dist":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, `,"children":[`...)
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"kind":"t1","data":{"id":"`...)
		x := r.next()
		for range idLen {
			dst = append(dst, "0123456789abcdefghijklmnopqrstuvwxyz"[x%36])
			x /= 36
		}
		dst = append(dst, `","link_id":"t3_`...)
		dst = append(dst, id...)
		dst = append(dst, `","subreddit":`...)
		dst = appendString(dst, name)
		dst = append(dst, `,"author":"`...)
		dst = append(dst, authorAdjectives[r.intn(len(authorAdjectives))]...)
		dst = append(dst, '_')
		dst = append(dst, authorAnimals[r.intn(len(authorAnimals))]...)
		dst = append(dst, `","score":`...)
		dst = strconv.AppendInt(dst, int64(r.intn(500)), 10)
		dst = append(dst, `,"body":"`...)
		for j, words := 0, 3+r.intn(10); j < words; j++ {
			if j > 0 {
				dst = append(dst, ' ')
			}
			dst = append(dst, pickWord(&r)...)
		}
		dst = append(dst, `"}}`...)
	}
	return append(dst, `]}}`...)
}
