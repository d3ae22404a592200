package stages_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

func nested(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }

// TestDeepJSONIsADecodeRecordNotACrash: a body nested two million deep
// once crashed the process (the JSON check recursed per level); now it
// and any body deeper than the limit is a decode record kept as text, by
// Decode, DecodeAs and Fetch's own decoding alike, while brackets inside
// strings do not count and the limit can be raised.
func TestDeepJSONIsADecodeRecordNotACrash(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		opts   []stages.Option
		wantOK bool
	}{
		{"two million deep", nested(2_000_000), nil, false},
		{"128 deep, one over the default", nested(128), nil, false},
		{"127 deep, the default", nested(127), nil, true},
		{"objects count too", strings.Repeat(`{"a":`, 128) + "1" + strings.Repeat("}", 128), nil, false},
		{"127 objects deep", strings.Repeat(`{"a":`, 127) + "1" + strings.Repeat("}", 127), nil, true},
		{"brackets in strings do not count", `["` + strings.Repeat("[", 1000) + `\"[[", "\\"]`, nil, true},
		{"a raised limit", nested(1000), []stages.Option{stages.WithMaxDepth(1000)}, true},
		{"over a raised limit", nested(1001), []stages.Option{stages.WithMaxDepth(1000)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(stage string, r stages.Record) {
				t.Helper()
				if r.OK() != tt.wantOK {
					t.Errorf("%s: ok %v, error %v; want ok %v", stage, r.OK(), r.Err, tt.wantOK)
				}
				if !tt.wantOK && (r.Err.Kind != stages.KindDecode || !strings.Contains(r.Err.Message, "deep") || r.Format == stages.JSON) {
					t.Errorf("%s: error %v, format %v; want a decode error about depth, body kept as text", stage, r.Err, r.Format)
				}
			}
			in := []stages.Record{{Status: 200, Body: []byte(tt.body)}}

			p := pipeline.New(t.Context())
			for r, err := range pipeline.All(stages.Decode(pipeline.FromSlice(p, in), stages.JSON, tt.opts...)) {
				if err != nil {
					t.Fatal(err)
				}
				check("Decode", r)
			}
			p = pipeline.New(t.Context())
			for d, err := range pipeline.All(stages.DecodeAs[any](pipeline.FromSlice(p, in), tt.opts...)) {
				if err != nil {
					t.Fatal(err)
				}
				check("DecodeAs", d.Record)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			p = pipeline.New(t.Context())
			opts := append([]stages.Option{stages.WithDecode(stages.JSON)}, tt.opts...)
			for r, err := range pipeline.All(stages.Fetch(stages.URLs(p, []string{srv.URL}), opts...)) {
				if err != nil {
					t.Fatal(err)
				}
				check("Fetch", r)
			}
		})
	}
}

// TestDeepSpecIsInvalidInput: a --jsonl spec whose meta nests deeper than
// the limit would give a record that stops jq 1.6 and 1.7; it is an
// invalid_input item, found without recursing, however deep.
func TestDeepSpecIsInvalidInput(t *testing.T) {
	tests := []struct {
		name   string
		meta   string
		opts   []stages.Option
		wantOK bool
	}{
		{"meta half a million deep", nested(500_000), nil, false},
		{"meta 128 deep", nested(128), nil, false},
		{"meta 127 deep", nested(127), nil, true},
		{"meta 256 deep under a raised limit", nested(256), []stages.Option{stages.WithMaxDepth(300)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			line := `{"url":"http://127.0.0.1/","meta":` + tt.meta + "}\n"
			r := collect(t, stages.Specs(p, strings.NewReader(line), tt.opts...))[0]
			if (r.Err == nil) != tt.wantOK {
				t.Fatalf("error %v, want ok %v", r.Err, tt.wantOK)
			}
			if r.Err != nil && (r.Err.Kind != stages.KindInvalidInput || !strings.Contains(r.Err.Message, "deep")) {
				t.Errorf("error %v, want invalid_input about depth", r.Err)
			}
		})
	}
}
