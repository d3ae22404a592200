//go:build !unix

package main

import "os/exec"

// killGroupOnCancel leaves cmd as it is: without process groups, its
// context kills cmd alone.
func killGroupOnCancel(cmd *exec.Cmd) {}
