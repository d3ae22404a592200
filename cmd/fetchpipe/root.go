package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fetchpipe/fetchpipe/stages"
)

// env is what the command reads and writes, so that tests run it in-process
// on pipes and buffers.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// stdinTerminal says a person types the input, who must be told
	// where it is read from and how to end it.
	stdinTerminal bool
}

// run runs the command line args and returns the exit status. Cancelling ctx
// with cause errInterrupted is what a signal does.
func run(ctx context.Context, args []string, e env) int {
	root := newRootCmd(e)
	// cobra reads os.Args when given nil, which would run the test binary's
	// own flags, or a caller's, instead of none.
	root.SetArgs(append([]string{}, args...))
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code) // already reported
	}
	if _, ok := errors.AsType[unreachable](err); ok {
		// Not a mistake in the command line, which --help would help
		// with: nothing was fetched, all the same.
		fmt.Fprintf(e.stderr, "fetchpipe: %v\n", err)
		return exitUsage
	}
	// Anything else was found before the run started: a flag, an argument
	// or an input file the caller got wrong. cobra does not type its own
	// errors, so they are all usage errors.
	fmt.Fprintf(e.stderr, "fetchpipe: %v\n", err)
	fmt.Fprintln(e.stderr, "Run 'fetchpipe --help' for usage.")
	return exitUsage
}

// exitCode is an error that carries the exit status of a run that happened,
// whose outcome has already been reported.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

func newRootCmd(e env) *cobra.Command {
	var f fetchFlags
	cmd := &cobra.Command{
		Use:   "fetchpipe [flags] [URL ...]",
		Short: "Fetch many URLs at once, streaming one NDJSON record per item",
		Long: `fetchpipe fetches many URLs concurrently and writes one JSON record per input
item to stdout as soon as each answer arrives (NDJSON), so results can be piped
into jq or another program while the rest are still in flight.

URLs come from the arguments, else from --input, else from stdin, one per line;
blank lines and lines starting with # are skipped. With --template, each line
is a value put into the template instead of a whole URL.

Exit status: 0 all records ok, 1 some records not ok, 2 usage error (nothing
fetched), 3 fatal I/O error, 130 interrupted.`,
		Example: `  fetchpipe https://example.com/a.json https://example.com/b.json
  fetchpipe -t 'https://api.example.com/r/{}.json' -c 100 < names.txt | jq .body
  fetchpipe -i urls.txt --resume out.ndjson      # Ctrl-C, then the same again
  fetchpipe -i urls.txt --per-host 4 --rate 10/s --retries 3 -o out.ndjson
  fetchpipe --jsonl -i requests.jsonl -o results.ndjson
  fetchpipe -i urls.txt --dry-run | head        # what would be sent
  fetchpipe -i urls.txt --shard 0/3 -o part0.ndjson   # one of three machines
  fetchpipe --from nats://host/work -t 'https://x.io/{}' --to nats://host/out
  fetchpipe demo`,
		Version:       versionText(),
		Args:          cobra.ArbitraryArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.flags = cmd.Flags()
			return f.run(cmd.Context(), args, e)
		},
	}
	f.register(cmd)
	cmd.SetFlagErrorFunc(flagError)
	// -V, as curl has it: -v is --verbose's letter there and in httpx, and
	// cobra would give it to --version, which printed a version into the
	// output of a run meant to be verbose.
	cmd.Flags().BoolP("version", "V", false, "print the version, the commit and the Go it was built with")
	cmd.SetVersionTemplate("fetchpipe {{.Version}}\n")
	cmd.AddCommand(newDemoCmd(e), newServeFakeCmd(e), newEnqueueCmd(e))
	cmd.AddCommand(helpTopics()...)
	cmd.SetUsageFunc(usage)
	cmd.SetHelpCommand(helpCommand(cmd))
	completeValues(cmd)
	return cmd
}

// fetchFlags are the flags of a fetch run, shared by the root command and
// the demo.
type fetchFlags struct {
	template    string
	jsonl       bool
	input       string
	output      string
	concurrency int
	timeout     time.Duration
	maxBody     string
	maxDepth    int
	decode      string
	ordered     bool
	spoolLimit  string
	resume      string
	shard       string
	summary     summaryMode
	progress    progressMode
	silent      bool
	verbose     bool
	insecure    bool
	cacert      string
	respHeaders []string
	dryRun      bool
	jq          string
	fields      string
	rawBody     bool
	save        string
	saveName    string
	sendHeader  http.Header // -H, parsed, for --dry-run
	headers     []string
	method      string
	throttle    throttleFlags
	from, to    string
	untilEmpty  bool
	queue       queueFlags

	flags *pflag.FlagSet // the command's, once it runs: which flags were given
}

// changed reports whether the flag name was given on the command line.
func (f *fetchFlags) changed(name string) bool { return f.flags != nil && f.flags.Changed(name) }

func (f *fetchFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVarP(&f.template, "template", "t", "", "build each URL from an input line: every {} in `T` is replaced by the line, escaped for its part of the URL (path segment, query value, host); {raw} inserts it as is")
	fs.BoolVar(&f.jsonl, "jsonl", false, `input lines are JSON request specs: {"url", "method", "headers", "body", "meta"}`)
	fs.StringVarP(&f.input, "input", "i", "", "read input lines from `FILE` instead of stdin")
	fs.BoolVarP(&f.silent, "silent", "s", false, "print nothing on stderr but a fatal error (no summary, no messages)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "say on stderr, as they happen, each retry (why, and the wait) and each redirect; with --auto-throttle, each change of a host's limit, and why")
	fs.StringVar(&f.resume, "resume", "", "continue the run whose output is `FILE`: skip the items it holds ok, append the rest (a FILE that does not exist is created: the same command starts and resumes a run)")
	fs.StringVar(&f.shard, "shard", "", "fetch only shard `I/N` of the input (I from 0 to N-1): N processes given the same input split it by a hash of each item, with no overlap and no gap; seq stays the position in the whole input")
	f.registerRun(cmd)
	fs.StringArrayVarP(&f.headers, "header", "H", nil, "add header `'K: V'` to every request (repeatable)")
	fs.StringVarP(&f.method, "method", "X", "GET", "HTTP `METHOD` for requests that do not name their own")
	fs.StringSliceVar(&f.respHeaders, "response-headers", nil, "keep these response headers in each record's \"headers\": a comma-separated `LIST` of names and patterns with *, in any case (Link,ETag,X-RateLimit-*)")
	fs.StringVar(&f.jq, "jq", "", "run the jq `PROGRAM` on each JSON body, ok or not; its result replaces the body (several as an array, none as null), as gojq runs it")
	fs.StringVar(&f.fields, "fields", "", "write only these record fields, in this order: a comma-separated `LIST` such as url,status,body")
	fs.BoolVar(&f.rawBody, "raw-body", false, "write only the body of each ok record, one a line; a record that is not ok goes to stderr as a line")
	fs.StringVar(&f.save, "save", "", "write each ok body to a file in `DIR` (made if need be) instead of into its record, which says which file")
	fs.StringVar(&f.saveName, "save-name", "", "name the files of --save by `TEMPLATE`: {seq}, {}, {host}, {path}, {ext} (default {seq}{ext})")
	fs.BoolVar(&f.dryRun, "dry-run", false, "fetch nothing: print on stdout, for each item, the request it would make (seq, method, url, headers; credentials masked)")
	fs.BoolVarP(&f.insecure, "insecure", "k", false, "do not check servers' certificates (for a test server; says so on stderr)")
	fs.StringVar(&f.cacert, "cacert", "", "check servers' certificates against the authorities in PEM `FILE` (an internal CA) instead of the system's")
	f.throttle.register(cmd)
	fs.StringVar(&f.from, "from", "", "take items from the NATS JetStream work queue at `URL` (nats://[USER:PASS@]HOST[:PORT]/SUBJECT), as one of its workers, instead of from input; fill it with 'fetchpipe enqueue'")
	fs.StringVar(&f.to, "to", "", "publish each record to the NATS JetStream subject at `URL` (nats://[USER:PASS@]HOST[:PORT]/SUBJECT) instead of writing it; with --from, an item is acked once its record is stored")
	fs.BoolVar(&f.untilEmpty, "until-empty", false, "with --from, end once the queue has nothing left to deliver (default: wait for more until interrupted or --deadline)")
	f.queue.register(fs)
}

// registerRun adds the flags that shape a run whatever its input, which the
// demo shares.
func (f *fetchFlags) registerRun(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.IntVarP(&f.concurrency, "concurrency", "c", stages.DefaultConcurrency, "`N` requests in flight at most")
	durationVar(fs, &f.timeout, "timeout", stages.DefaultTimeout, "time limit `D` of each attempt, from sending it to the end of its body, not counting waits for a slot (0: none)")
	fs.StringVar(&f.maxBody, "max-body", humanize.IBytes(stages.DefaultMaxBody), "cap `SIZE` on a response body, e.g. 512KiB, 16MiB (0: none); a larger body gives a too_large record")
	fs.StringVarP(&f.decode, "decode", "d", "json", "`MODE` of the body in records: json (a JSON value, compacted; -d text or --save keep the server's bytes), text (a string) or none (left out)")
	fs.IntVar(&f.maxDepth, "max-depth", stages.DefaultMaxDepth, fmt.Sprintf("a JSON body or --jsonl meta nested more than `N` deep is a decode (or invalid_input) record (the default keeps jq 1.6 and 1.7 reading; at most %d)", stages.MaxDepth))
	fs.BoolVar(&f.ordered, "ordered", false, "write records in input order (default: as they complete)")
	fs.StringVar(&f.spoolLimit, "spool-limit", "1GiB", "with --ordered, records that finish ahead of a slow one wait on disk, up to `SIZE`")
	fs.StringVarP(&f.output, "output", "o", "", "write records to `FILE` instead of stdout")
	fs.StringVar((*string)(&f.progress), "progress", string(progressAuto), "show progress on stderr: `WHEN` is auto (a bar when stderr is a terminal), always (elsewhere, a status line every 10 s) or never")
	fs.StringVar((*string)(&f.summary), "summary", string(summaryAuto), "print a summary on stderr at the end: `WHEN` is auto (on a terminal, or when something failed), always, never or json (one JSON object)")
}

// options checks the flags that do not depend on the input and turns them
// into stage options.
func (f *fetchFlags) options() (fetch []stages.Option, format stages.Format, err error) {
	if f.concurrency < 1 {
		return nil, 0, fmt.Errorf("--concurrency must be at least 1, not %d", f.concurrency)
	}
	if most := stages.MaxConcurrency(); most > 0 && f.concurrency > most {
		return nil, 0, fmt.Errorf("--concurrency %d is more than this process can have open at once: its open-file limit allows %d requests in flight "+
			"(raise the limit with 'ulimit -n', or lower -c)", f.concurrency, most)
	}
	if f.timeout < 0 {
		return nil, 0, fmt.Errorf("--timeout must not be negative, not %v", f.timeout)
	}
	maxBody, err := parseSize(f.maxBody)
	if err != nil {
		return nil, 0, fmt.Errorf("--max-body: %w", err)
	}
	switch f.summary {
	case summaryAuto, summaryAlways, summaryNever, summaryJSON:
	default:
		return nil, 0, fmt.Errorf("--summary must be auto, always, never or json, not %q", f.summary)
	}
	switch f.progress {
	case progressAuto, progressAlways, progressNever:
	default:
		return nil, 0, fmt.Errorf("--progress must be auto, always or never, not %q", f.progress)
	}
	if f.maxDepth < 1 || f.maxDepth > stages.MaxDepth {
		return nil, 0, fmt.Errorf("--max-depth must be from 1 to %d, not %d", stages.MaxDepth, f.maxDepth)
	}
	format, ok := stages.ParseFormat(f.decode)
	if !ok {
		if strings.ContainsAny(f.decode, "{[=") {
			// curl's -d sends a body; here it is --decode.
			return nil, 0, fmt.Errorf("-d is --decode (json, text or none), not a body to send; to send a body, give --jsonl specs with a \"body\" (see --help)")
		}
		return nil, 0, fmt.Errorf("--decode must be json, text or none, not %q", f.decode)
	}
	fetch = []stages.Option{
		stages.WithConcurrency(f.concurrency),
		stages.WithTimeout(f.timeout),
		stages.WithMaxBody(maxBody),
	}

	if f.method != "" {
		if err := stages.CheckMethod(f.method); err != nil {
			return nil, 0, fmt.Errorf("--method: %w", err)
		}
		fetch = append(fetch, stages.WithMethod(f.method))
	}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			return nil, 0, errors.New("a --header must look like 'Name: value'") // not quoted: it may hold a secret
		}
		if err := stages.CheckHeader(k, v); err != nil {
			return nil, 0, fmt.Errorf("--header: %w", err)
		}
		fetch = append(fetch, stages.WithHeader(k, v))
		if f.sendHeader == nil {
			f.sendHeader = make(http.Header)
		}
		f.sendHeader.Add(k, v)
	}
	if f.ordered {
		limit, err := parseSize(f.spoolLimit)
		if err != nil {
			return nil, 0, fmt.Errorf("--spool-limit: %w", err)
		}
		// Past its window, a slow item would stop the reading: what
		// finishes meanwhile waits on disk instead.
		fetch = append(fetch, stages.WithInputOrder(), stages.WithSpool(limit, ""))
	}
	if f.save != "" {
		if f.jq != "" {
			return nil, 0, errors.New("--save writes bodies to files: --jq has none to run on")
		}
		if err := os.MkdirAll(f.save, 0o777); err != nil {
			return nil, 0, fmt.Errorf("--save: %w", err)
		}
		if err := stages.CheckSaveName(f.saveName); err != nil {
			return nil, 0, fmt.Errorf("--save-name: %w", err)
		}
		// Ok bodies go to files; the bodies of failures stay in their
		// records, as -d says.
		fetch = append(fetch, stages.WithSave(f.save, f.saveName))
		if f.resume != "" {
			// An interrupted run may have saved a body whose record it
			// never wrote: its item is fetched again, and its file replaced.
			fetch = append(fetch, stages.WithSaveOver())
		}
	} else if f.saveName != "" {
		return nil, 0, errors.New("--save-name names the files of --save, which is not given")
	}
	if f.jq != "" {
		if format != stages.JSON {
			return nil, 0, fmt.Errorf("--jq runs on JSON bodies: it does not go with -d %s", f.decode)
		}
		q, err := stages.ParseQuery(f.jq)
		if err != nil {
			return nil, 0, fmt.Errorf("--jq: %w", err)
		}
		fetch = append(fetch, stages.WithQuery(q))
	}
	if len(f.respHeaders) > 0 {
		for _, h := range f.respHeaders {
			if strings.ContainsAny(h, "/[\\") || strings.TrimSpace(h) == "" {
				return nil, 0, fmt.Errorf("--response-headers: %q is not a header name or a pattern with *, such as X-RateLimit-*", h)
			}
		}
		fetch = append(fetch, stages.WithResponseHeaders(f.respHeaders...))
	}
	if format == stages.JSON { // after --save, which leaves no body to decode
		fetch = append(fetch, stages.WithMaxDepth(f.maxDepth))
	}
	return fetch, format, nil
}
