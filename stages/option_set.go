package stages

import (
	"fmt"

	"github.com/fetchpipe/fetchpipe/internal/optset"
)

// An option is a set of the options a stage may be given, one bit each, so
// that checking what a stage was given costs one mask when it is made.
type option uint64

const (
	optConcurrency option = 1 << iota
	optInputOrder
	optBuffer
	optClient
	optTimeout
	optMaxBody
	optMethod
	optHeader
	optTemplate
	optDecode
	optBudget
	optObserver
	optPerHost
	optRate
	optHostRate
	optBurst
	optRetries
	optRetryOn
	optRetryPolicy
	optRetryUnsafe
	optMaxRetryWait
	optConnectTimeout
	optMaxRedirects
	optMaxDepth
	optTrustRedirects
	optGrace
	optTrace
	optTLS
	optResponseHeaders
	optQuery
	optSave
	optSaveOver
	optSpool
	optAutoThrottle
	optShard
)

var optionNames = [...]string{
	"WithConcurrency", "WithInputOrder", "WithBuffer", "WithClient", "WithTimeout",
	"WithMaxBody", "WithMethod", "WithHeader", "WithTemplate", "WithDecode",
	"WithBudget", "WithObserver", "WithPerHost", "WithRate", "WithHostRate",
	"WithBurst", "WithRetries", "WithRetryOn", "WithRetryPolicy", "WithRetryUnsafe",
	"WithMaxRetryWait", "WithConnectTimeout", "WithMaxRedirects", "WithMaxDepth",
	"WithTrustRedirects", "WithGrace", "WithTrace", "WithTLS",
	"WithResponseHeaders", "WithQuery", "WithSave", "WithSaveOver",
	"WithSpool", "WithAutoThrottle", "WithShard",
}

// What each kind of stage takes.
const (
	sourceOptions = optTemplate | optShard | optBuffer
	decodeOptions = optConcurrency | optInputOrder | optMaxDepth | optBuffer
	specsOptions  = optMaxDepth | optShard | optBuffer
	fetchOptions  = ^option(0) &^ (optTemplate | optShard)

	// ownLimits are the options that set up Fetch's own budget, which
	// WithBudget replaces.
	ownLimits = optConcurrency | optPerHost | optRate | optHostRate | optBurst | optAutoThrottle
	// retryOptions are the options of Fetch's own retry rules, which
	// WithRetryPolicy replaces.
	retryOptions = optRetries | optRetryOn | optRetryUnsafe | optMaxRetryWait
	// clientOptions set up Fetch's own client, which WithClient replaces.
	clientOptions = optConnectTimeout | optMaxRedirects | optTrustRedirects | optTLS
)

// String lists the options in the set.
func (o option) String() string {
	return optset.Names(o, optionNames[:])
}

// set returns an Option that records itself as given, then applies f.
func set(o option, f func(*settings)) Option {
	return func(s *settings) {
		s.given |= o
		f(s)
	}
}

// check panics if stage fn was given an option outside takes, or two that
// exclude each other: an option that would do nothing is a mistake, found
// best when the stage is made.
func (s *settings) check(fn string, takes option) {
	if extra := s.given &^ takes; extra != 0 {
		panic(fmt.Sprintf("stages.%s does not take %s; it takes %s", fn, extra, takes))
	}
	for _, x := range []struct{ one, others option }{
		{optBudget, ownLimits},
		{optRetryPolicy, retryOptions},
		{optClient, clientOptions},
	} {
		if s.given&x.one != 0 && s.given&x.others != 0 {
			panic(fmt.Sprintf("stages.%s: %s replaces %s; give one or the other", fn, x.one, s.given&x.others))
		}
	}
}
