package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// machine describes where the figures were measured; without it they mean
// little to anyone else.
type machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	CPUModel   string `json:"cpu_model"`
	NumCPU     int    `json:"num_cpu"`
	GoVersion  string `json:"go_version"`
	Kernel     string `json:"kernel,omitempty"`
	MemTotalMB int64  `json:"mem_total_mb,omitempty"`
	// OpenFilesSoft and OpenFilesHard are the bench's own limits. Go raises
	// the soft limit to the hard one at start-up in every Go process; each
	// run also records its child's soft limit as read from /proc.
	OpenFilesSoft int64 `json:"open_files_soft,omitempty"`
	OpenFilesHard int64 `json:"open_files_hard,omitempty"`
}

func describeMachine() machine {
	m := machine{
		GOOS:      runtime.GOOS,
		GOARCH:    runtime.GOARCH,
		NumCPU:    runtime.NumCPU(),
		GoVersion: runtime.Version(),
		CPUModel:  procField("/proc/cpuinfo", "model name"),
	}
	if m.CPUModel == "" {
		m.CPUModel = "unknown"
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if kb, err := strconv.ParseInt(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 10, 64); err == nil {
		m.MemTotalMB = kb * 1024 / 1e6 // MB, as the bench gives every size
	}
	if b, err := os.ReadFile("/proc/self/limits"); err == nil {
		m.OpenFilesSoft = parseOpenFiles(string(b))
		m.OpenFilesHard = parseOpenFilesHard(string(b))
	}
	return m
}

func (m machine) String() string {
	s := fmt.Sprintf("%s/%s, %s, %d CPUs, %s", m.GOOS, m.GOARCH, m.CPUModel, m.NumCPU, m.GoVersion)
	if m.Kernel != "" {
		s += ", kernel " + m.Kernel
	}
	if m.MemTotalMB > 0 {
		s += fmt.Sprintf(", %.1f GB RAM", float64(m.MemTotalMB)/1000)
	}
	if m.OpenFilesHard > 0 {
		s += fmt.Sprintf(", open files %d soft / %d hard", m.OpenFilesSoft, m.OpenFilesHard)
	}
	return s
}

// procField returns the value of the first "key: value" line of a /proc
// file whose key is key, or "".
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parseOpenFiles and parseOpenFilesHard read the "Max open files" line of
// a /proc/PID/limits file: "Max open files  20000  20000  files".
func parseOpenFiles(limits string) int64     { return openFilesField(limits, 0) }
func parseOpenFilesHard(limits string) int64 { return openFilesField(limits, 1) }

func openFilesField(limits string, i int) int64 {
	for line := range strings.Lines(limits) {
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) <= i {
			return 0
		}
		n, _ := strconv.ParseInt(f[i], 10, 64) // "unlimited" reads as 0: not known
		return n
	}
	return 0
}
