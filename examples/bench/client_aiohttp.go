package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
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

// findPython returns a Python interpreter that can import aiohttp: the one
// asked for with -python, else python3 on the PATH or Debian's own (a PATH
// may hold a pyenv Python without the system's packages). It returns ""
// when none is found or -python is "none", and an error when the one asked
// for cannot import aiohttp.
func findPython(ctx context.Context, asked string) (string, error) {
	switch asked {
	case "none":
		return "", nil
	case "":
		for _, py := range []string{"python3", "/usr/bin/python3"} {
			if exec.CommandContext(ctx, py, "-c", "import aiohttp").Run() == nil {
				return py, nil
			}
		}
		return "", nil
	}
	if out, err := exec.CommandContext(ctx, asked, "-c", "import aiohttp").CombinedOutput(); err != nil {
		return "", fmt.Errorf("-python %s cannot import aiohttp: %v: %s", asked, err, bytes.TrimSpace(out))
	}
	return asked, nil
}

// writeAiohttpClient puts the client's script in dir and returns its path.
func writeAiohttpClient(dir string) (string, error) {
	path := filepath.Join(dir, "aiohttp_client.py")
	return path, os.WriteFile(path, aiohttpClient, 0o644)
}
