package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release this binary was built from; a release build sets
// it with -ldflags "-X main.version=1.2.3".
var version = "0.1.0-dev"

// versionText is what --version prints: the release, the commit it was
// built from (from the build's VCS stamp, which go run and
// -buildvcs=false leave out: then "commit unknown"), and the Go that
// built it.
func versionText() string {
	commit, when, dirty := "", "", false
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	build := "commit unknown"
	if commit != "" {
		build = "commit " + commit[:min(len(commit), 12)]
		if when != "" {
			build += " of " + when
		}
		if dirty {
			build += ", with local changes"
		}
	}
	return fmt.Sprintf("%s (%s; %s %s/%s)", version, build, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
