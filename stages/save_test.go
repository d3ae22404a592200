package stages_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// TestSaveStaysInDir: bodies saved whole, under names made safe, never
// outside the directory whatever the item or the URL holds; a name taken
// is an "other" record, the file not overwritten; a body over the cap
// leaves no file.
func TestSaveStaysInDir(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("q") == "big" {
			w.Write([]byte(strings.Repeat("x", 5000)))
			return
		}
		w.Write([]byte(`{"path":` + `"` + r.URL.EscapedPath() + `"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	items := []string{"a", "../../etc/passwd", "/etc/passwd", "..", "%2f..%2fx", "x/y", "big"}
	p := pipeline.New(t.Context())
	recs := collect(t, stages.Fetch(stages.URLs(p, items, stages.WithTemplate(srv.URL+"/r?q={}")),
		stages.WithSave(dir, "{}{ext}"), stages.WithMaxBody(1000), stages.WithInputOrder()))
	for _, r := range recs[:6] {
		if !r.OK() || filepath.Dir(r.File) != dir {
			t.Errorf("record %d: file %q, error %v; want a file in %s", r.Seq, r.File, r.Err, dir)
			continue
		}
		b, err := os.ReadFile(r.File)
		if err != nil || int64(len(b)) != r.Bytes || !strings.HasPrefix(string(b), `{"path":`) || r.Body != nil {
			t.Errorf("record %d: %q (%v), %d bytes recorded, body %q", r.Seq, b, err, r.Bytes, r.Body)
		}
	}
	if big := recs[6]; big.Err == nil || big.Err.Kind != stages.KindTooLarge || big.File != "" {
		t.Errorf("a body over the cap: %+v", big)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 6 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the directory holds %v, want 6 files and no temporary", names)
	}
	// Again: every name is taken now.
	p = pipeline.New(t.Context())
	r := collect(t, stages.Fetch(stages.URLs(p, items[:1], stages.WithTemplate(srv.URL+"/r?q={}")), stages.WithSave(dir, "{}{ext}")))[0]
	if r.Err == nil || r.Err.Kind != stages.KindOther || !strings.Contains(r.Err.Message, "already exists") {
		t.Errorf("a name taken: %v", r.Err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.json")); !strings.Contains(string(b), `"path"`) {
		t.Errorf("the file taken was changed: %q", b)
	}
}

// TestSaveNames: an unknown part of a name template is refused when the
// option is made; a name too long for a file system is shortened, its
// extension and the item's seq kept.
func TestSaveNames(t *testing.T) {
	if err := stages.CheckSaveName("{nope}{ext}"); err == nil || !strings.Contains(err.Error(), "{nope} is not one of") {
		t.Errorf("error %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write([]byte("jpeg"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	p := pipeline.New(t.Context())
	long := strings.Repeat("a", 5000)
	r := collect(t, stages.Fetch(stages.URLs(p, []string{srv.URL + "/?" + long}), stages.WithSave(dir, "{path}{}{ext}")))[0]
	if !r.OK() || len(filepath.Base(r.File)) > 200 || !strings.HasSuffix(r.File, "~00000000.jpg") {
		t.Errorf("file %q, error %v", r.File, r.Err)
	}
}

// TestSaveFollowUpsAndOver: follow-ups of one item get names of their
// own by default; WithSaveOver replaces a file of the same name, as a
// resumed run must.
func TestSaveFollowUpsAndOver(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.URL.Path)) }))
	defer srv.Close()
	dir := t.TempDir()
	reqs := []stages.Request{{Seq: 3, URL: srv.URL + "/a"}, {Seq: 3, Follow: []int{0}, URL: srv.URL + "/b"}, {Seq: 3, Follow: []int{1}, URL: srv.URL + "/c"}}
	p := pipeline.New(t.Context())
	for _, r := range collect(t, stages.Fetch(pipeline.FromSlice(p, reqs), stages.WithSave(dir, ""))) {
		if !r.OK() {
			t.Errorf("record %d %v: %v", r.Seq, r.Follow, r.Err)
		}
	}
	for _, name := range []string{"00000003.txt", "00000003-0.txt", "00000003-1.txt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "00000003.txt"), []byte("half"), 0o644)
	p = pipeline.New(t.Context())
	r := collect(t, stages.Fetch(pipeline.FromSlice(p, reqs[:1]), stages.WithSave(dir, ""), stages.WithSaveOver()))[0]
	if b, _ := os.ReadFile(filepath.Join(dir, "00000003.txt")); !r.OK() || string(b) != "/a" {
		t.Errorf("with WithSaveOver: %v, the file holds %q", r.Err, b)
	}
}
