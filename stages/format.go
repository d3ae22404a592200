package stages

// A Format says what a Record's body holds, and so how it is written out.
// It is also the mode that Decode is asked for.
type Format uint8

const (
	// Text is the body as it came, written as a JSON string (invalid UTF-8
	// shows as U+FFFD). Bodies straight from Fetch are Text, unless it was
	// given WithDecode.
	Text Format = iota
	// JSON is a body checked to be valid JSON and made into one line,
	// written as a JSON value, so that `jq .body` sees the document itself.
	JSON
	// None drops the body; the record keeps its size in Bytes.
	None
)

// ParseFormat returns the Format named "json", "text" or "none".
func ParseFormat(s string) (Format, bool) {
	switch s {
	case "json":
		return JSON, true
	case "text":
		return Text, true
	case "none":
		return None, true
	}
	return 0, false
}

func (f Format) String() string {
	switch f {
	case JSON:
		return "json"
	case None:
		return "none"
	}
	return "text"
}
