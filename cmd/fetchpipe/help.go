package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagGroups orders the flags of --help by what a person looks for: a
// list of 40 flags in alphabetical order hid the few that matter.
var flagGroups = []struct {
	title string
	flags []string
}{
	{"Input", []string{"input", "template", "jsonl", "resume", "shard", "dry-run"}},
	{"Output", []string{"output", "decode", "jq", "fields", "raw-body", "save", "save-name", "ordered", "spool-limit", "max-body", "max-depth", "response-headers"}},
	{"Concurrency and politeness", []string{"concurrency", "per-host", "auto-throttle", "rate", "host-rate", "burst", "deadline", "grace"}},
	{"Retries, timeouts and redirects", []string{"retries", "retry-on", "retry-unsafe", "max-retry-wait", "timeout", "connect-timeout", "max-redirects", "location-trusted"}},
	{"Request", []string{"header", "method"}},
	{"TLS", []string{"insecure", "cacert"}},
	{"Many machines: a NATS JetStream work queue", []string{"from", "to", "until-empty", "stream", "consumer", "max-deliver", "ack-wait", "max-ack-pending", "duplicate-window", "nats-creds", "nats-ca", "nats-cert", "nats-key"}},
	{"Messages", []string{"progress", "summary", "verbose", "silent", "version", "help"}},
}

// helpWidth is the width --help fits in: a terminal's least.
const helpWidth = 80

// groupedFlags writes cmd's flags under the titles of flagGroups, in lines
// of at most helpWidth columns; flags in no group come last.
func groupedFlags(w io.Writer, cmd *cobra.Command) {
	seen := make(map[string]bool)
	for _, g := range flagGroups {
		fs := pflag.NewFlagSet(g.title, pflag.ContinueOnError)
		fs.SortFlags = false // the group's own order: the most used first
		for _, name := range g.flags {
			if f := cmd.Flags().Lookup(name); f != nil {
				fs.AddFlag(f)
				seen[name] = true
			}
		}
		if fs.HasFlags() {
			fmt.Fprintf(w, "\n%s:\n%s", g.title, fs.FlagUsagesWrapped(helpWidth))
		}
	}
	rest := pflag.NewFlagSet("other", pflag.ContinueOnError)
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !seen[f.Name] {
			rest.AddFlag(f)
		}
	})
	if rest.HasFlags() {
		fmt.Fprintf(w, "\nOther:\n%s", rest.FlagUsagesWrapped(helpWidth))
	}
}

// usage is the root command's help below its description.
func usage(cmd *cobra.Command) error {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "Usage:\n  %s\n", cmd.UseLine())
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(w, "  %s [command]\n", cmd.CommandPath())
	}
	if cmd.Example != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", cmd.Example)
	}
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintln(w, "\nCommands:")
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				fmt.Fprintf(w, "  %-11s %s\n", c.Name(), c.Short)
			}
		}
		fmt.Fprintln(w, "\nMore help: fetchpipe help records | kinds | exit")
	}
	if cmd.HasParent() {
		fmt.Fprintf(w, "\nFlags:\n%s", cmd.LocalFlags().FlagUsagesWrapped(helpWidth))
	} else {
		groupedFlags(w, cmd)
	}
	return nil
}

// helpTopics are what "fetchpipe help TOPIC" explains beside the flags.
func helpTopics() []*cobra.Command {
	topic := func(name, short, long string) *cobra.Command {
		return &cobra.Command{Use: name, Short: short, Long: strings.Trim(long, "\n")}
	}
	return []*cobra.Command{
		topic("records", "The fields of an output record", `
Each input item yields one JSON record, on one line, as soon as it is done.
Fields in brackets appear only when they apply:

  seq            the item's position among the input items, from 0, in
                 the whole input also with --shard; with --from, its
                 message's sequence in the queue's stream, from 1
  [follow]       (library follow-ups) the path below item seq
  item           the item's identity: a hash of the line as read (or a
                 --jsonl spec's id); what --resume matches records by, and
                 --shard splits by
  url            the URL requested, credentials masked
  [final_url]    where redirects ended, when elsewhere
  status         the HTTP status; 0 when no response came
  ok             true when a 2xx came, whole, and decoded as asked
  attempts       requests made, retries included
  elapsed_ms     from the first attempt's start to the last's end
  bytes          body bytes received, after decompression
  [content_type] the response's Content-Type
  [headers]      response headers that --response-headers asks for
  [error]        {"kind", "message"} when ok is false
  [meta]         a --jsonl spec's meta, compacted like a body
  [body]         with -d json a JSON value (compacted), with -d text a string`),
		topic("kinds", "The kinds of error a record can carry", `
An item's failure is data in its record: error.kind says what class of
failure it was, error.message what happened, in words for a person.

  invalid_input  the item is not a request that can be made
  dns            the host name could not be resolved
  connect        no connection could be made (refused, unreachable)
  tls            the TLS handshake or certificate check failed
  timeout        an attempt took longer than --timeout, or connecting
                 longer than --connect-timeout
  network        the connection broke mid-exchange
  http_status    the server answered with a status other than 2xx
  too_large      the body is over --max-body (a gzip bomb ends here)
  decode         the body is not what -d asked for; kept as text
  redirect       a loop, too many redirects, or one to a URL not http(s)
  canceled       the run was interrupted, or reached --deadline, first
  other          anything else; the message says what`),
		topic("exit", "The exit statuses", `
  0    every record is ok
  1    the run finished, but some records are not ok (the summary counts
       them by kind); also when --deadline cut the run short, and, for a
       worker of a queue (--from), when a result could not be published
       or a message became a dead letter
  2    usage error: a flag, an argument, an input or output that cannot be
       used; nothing was fetched (and with --resume, nothing written)
  3    fatal I/O error mid-run: the output could not be written, or the
       input could not be read any more (with --from and --to: the queue
       or the results stream failed for good, or refused a record)
  130  interrupted (SIGINT, SIGTERM): reading stopped, requests in flight
       had --grace to finish, the rest got canceled records`),
	}
}

// completeValues lets shell completion offer the values of the flags that
// take one of a few words.
func completeValues(cmd *cobra.Command) {
	for flag, values := range map[string][]string{
		"decode":   {"json", "text", "none"},
		"progress": {string(progressAuto), string(progressAlways), string(progressNever)},
		"summary":  {string(summaryAuto), string(summaryAlways), string(summaryNever), string(summaryJSON)},
	} {
		_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
	}
}

// helpCommand is "fetchpipe help [topic]": cobra's own answers a topic it
// does not know with the whole help and exit status 0, where a mistyped
// topic deserves to be told so.
func helpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command or topic]",
		Short: "Help about a command, or a topic: records, kinds, exit",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return root.Help()
			}
			target, _, err := root.Find(args)
			if err != nil || target == root {
				return fmt.Errorf("no help for %q: the topics are records, kinds and exit, and the commands demo and serve-fake", args[0])
			}
			return target.Help()
		},
	}
}
