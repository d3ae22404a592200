package main

import (
	"context"
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
)

// aiohttpClient is the seed's asyncio strategy, written in Python as its
// users write it. S3 measures it beside fetchpipe when a Python with
// aiohttp is at hand (Debian: apt-get install python3-aiohttp); it is an
// optional comparison, never a requirement of the bench.
//
//go:embed aiohttp_client.py
var aiohttpClient []byte

// findPython returns a Python interpreter that can import aiohttp, trying
// the one asked for with -python, else python3 on the PATH and Debian's own
// (a PATH may hold a pyenv Python without the system's packages). It
// returns "" when there is none, or when -python is "none".
func findPython(ctx context.Context, asked string) string {
	candidates := []string{"python3", "/usr/bin/python3"}
	switch asked {
	case "none":
		return ""
	case "":
	default:
		candidates = []string{asked}
	}
	for _, py := range candidates {
		if exec.CommandContext(ctx, py, "-c", "import aiohttp").Run() == nil {
			return py
		}
	}
	return ""
}

// writeAiohttpClient puts the client's script in dir and returns its path.
func writeAiohttpClient(dir string) (string, error) {
	path := filepath.Join(dir, "aiohttp_client.py")
	return path, os.WriteFile(path, aiohttpClient, 0o644)
}
