package stages

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WithSave makes Fetch write the body of each ok response to a file in
// dir instead of into the record: streamed to disk as it arrives, never
// held in memory, under a temporary name and given its own name once
// whole, so that a file under its name is always a whole body. The record
// says where (Record.File) and how large (Record.Bytes). WithMaxBody caps
// each file as it caps a body. A body that is not ok (a 404's) stays in
// the record, as without WithSave.
//
// The name comes from name, a template of these parts, each made safe
// for a file name (anything but letters, digits, ".", "-" and "_"
// becomes "_"): {seq} (the item's Seq, zero-padded to 8 digits, and a
// follow-up's path: "00000003-2"), {}
// (the input item, as read), {host}, {path} (the URL's path, its "/"
// made "_"), {ext} (an extension for the Content-Type, ".bin" if none
// is known); a name over 200 bytes is cut, ending "~" and the seq, and
// the extension. "" means "{seq}{ext}"; any other {…} panics (see
// CheckSaveName). A name is never outside dir, whatever the URL or the
// item holds, and never one already taken: that item fails with kind
// other and a message that names the file. An answer with no body (to a
// HEAD, a 204, a 304) makes no file.
func WithSave(dir, name string) Option {
	if err := CheckSaveName(name); err != nil {
		panic("stages.WithSave: " + err.Error())
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		panic("stages.WithSave: " + err.Error())
	}
	if name == "" {
		name = "{seq}{ext}"
	}
	return set(optSave, func(s *settings) {
		over := s.save != nil && s.save.over
		s.save = &saver{dir: abs, name: name, over: over}
	})
}

// WithSaveOver lets WithSave put a body in place of a file of the same
// name: what a resumed run must do for the bodies that an interrupted one
// saved without writing their records, which it fetches again.
func WithSaveOver() Option {
	return set(optSaveOver, func(s *settings) {
		if s.save == nil {
			s.save = &saver{}
		}
		s.save.over = true
	})
}

type saver struct {
	dir  string
	name string
	over bool // replace a file of the same name (WithSaveOver)
}

// fileName makes the name of req's body from the template, safe.
func (sv *saver) fileName(req *Request, contentType string) string {
	u, _ := url.Parse(req.URL)
	var host, path string
	if u != nil {
		host, path = u.Hostname(), strings.Trim(u.Path, "/")
	}
	ext := ".bin"
	if ct, _, err := mime.ParseMediaType(contentType); err == nil {
		switch ct {
		case "application/json":
			ext = ".json"
		case "text/html":
			ext = ".html"
		case "text/plain":
			ext = ".txt"
		case "image/jpeg":
			ext = ".jpg" // not Go's first pick, .jfif
		default:
			if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
				ext = exts[0]
			}
		}
	}
	seq := fmt.Sprintf("%08d", req.Seq)
	for _, n := range req.Follow {
		seq += "-" + strconv.Itoa(n) // a follow-up's path tells it from its item
	}
	r := strings.NewReplacer(
		"{seq}", seq,
		"{}", safeName(req.Input),
		"{host}", safeName(host),
		"{path}", safeName(path),
		"{ext}", ext,
	)
	name := safeName(r.Replace(sv.name))
	if name == "" || strings.Trim(name, ".") == "" {
		name = fmt.Sprintf("%08d%s", req.Seq, ext) // nothing left to name it by
	}
	if len(name) > maxName {
		// File systems take 255 bytes; the end keeps the extension.
		name = name[:maxName-len(ext)-9] + fmt.Sprintf("~%08d", req.Seq) + ext
	}
	return name
}

// safeName keeps letters, digits, ".", "-" and "_", and makes anything
// else "_", so that no part of a name can lead out of the directory.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// save streams body to a new file in the directory and names it, or says
// why not. It returns the file's path and size.
func (sv *saver) save(req *Request, contentType string, body io.Reader, limit int64) (string, int64, error) {
	name := sv.fileName(req, contentType)
	final := filepath.Join(sv.dir, name)
	if filepath.Dir(final) != sv.dir { // safeName makes this hold; checked all the same
		return "", 0, fmt.Errorf("the name %q would leave %s", name, sv.dir)
	}
	tmp, err := os.CreateTemp(sv.dir, TempPrefix()+"*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name()) // gone once linked, or on failure
	src := body
	if limit > 0 {
		src = io.LimitReader(body, limit+1)
	}
	n, err := io.Copy(tmp, src)
	if err == nil {
		err = tmp.Chmod(0o644) // a file like any other, not a temporary's 0600
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", n, err
	}
	if limit > 0 && n > limit {
		return "", n, &errTooLarge{limit, -1}
	}
	if sv.over {
		return final, n, os.Rename(tmp.Name(), final)
	}
	// A link fails on a name that exists, where a rename would replace it.
	err = os.Link(tmp.Name(), final)
	if err != nil && !errors.Is(err, os.ErrExist) {
		// A file system without hard links: a rename, after a look at
		// the name (which another process could take in between).
		if _, lerr := os.Lstat(final); errors.Is(lerr, os.ErrNotExist) {
			err = os.Rename(tmp.Name(), final)
		} else {
			err = os.ErrExist
		}
	}
	if errors.Is(err, os.ErrExist) {
		return "", n, &errTaken{final}
	}
	return final, n, err
}

// TempPrefix is how the temporary files of WithSave's bodies being
// written begin: with this process's id, so that a program that must quit
// at once, without its deferred calls, can remove its own and only its
// own.
func TempPrefix() string { return fmt.Sprintf(".fetchpipe-%d-", os.Getpid()) }

// errTaken reports a file name already taken; its message is the record's.
type errTaken struct{ path string }

func (e *errTaken) Error() string {
	return "not saved: " + e.path + " already exists, and is not overwritten (give --save a name template that tells items apart, such as {seq})"
}

// maxName is the longest file name WithSave makes, in bytes.
const maxName = 200

// CheckSaveName says why name cannot be WithSave's name template, or
// returns nil: every {…} in it must be one of the parts it knows.
func CheckSaveName(name string) error {
	for rest := name; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("name template %q has a { with no }", name)
		}
		switch part := rest[i : i+j+1]; part {
		case "{seq}", "{}", "{host}", "{path}", "{ext}":
		default:
			return fmt.Errorf("name template %q: %s is not one of {seq}, {}, {host}, {path}, {ext}", name, part)
		}
		rest = rest[i+j+1:]
	}
}
