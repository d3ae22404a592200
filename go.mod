module github.com/fetchpipe/fetchpipe

go 1.26.0

require (
	github.com/segmentio/encoding v0.5.4
	github.com/sourcegraph/conc v0.3.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/segmentio/asm v1.1.3 // indirect
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.9.0 // indirect
	golang.org/x/sys v0.0.0-20211110154304-99a53858aa08 // indirect
)
