//go:build linux

package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// largeRuns is the size of the journal of the Large benchmarks: a year of
// a busy support team.
const largeRuns = 100_000

var (
	largeOnce sync.Once
	largeHome string
)

// largeJournal is a home of largeRuns runs (see fillJournal), made once per
// test binary in the folder of the binaries TestMain builds (and removes).
func largeJournal(b *testing.B) string {
	b.Helper()
	largeOnce.Do(func() {
		home := filepath.Join(filepath.Dir(steward), "large-home")
		fillJournal(b, home, largeRuns)
		largeHome = home
	})
	if largeHome == "" {
		b.Fatal("the large journal could not be made")
	}
	return largeHome
}

// benchPeakRSS times the whole steward process with args, its output
// discarded, and reports its peak resident memory (ru_maxrss, as
// /usr/bin/time -v gives it), the largest of its runs.
func benchPeakRSS(b *testing.B, args ...string) {
	b.Helper()
	var peak int64
	for b.Loop() {
		cmd := exec.Command(steward, args...)
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("steward %v: %v", args, err)
		}
		peak = max(peak, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	}
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
}

// BenchmarkAuditVerifyLarge: `steward audit verify` of a journal of
// 100,000 runs (300,000 records); its memory should not grow with the
// journal.
func BenchmarkAuditVerifyLarge(b *testing.B) {
	benchPeakRSS(b, "--home", largeJournal(b), "audit", "verify")
}

// BenchmarkRunsAllLarge: `steward runs --limit 0` of a journal of 100,000
// runs, in text and in JSON; its memory should not grow with the journal.
func BenchmarkRunsAllLarge(b *testing.B) {
	home := largeJournal(b)
	b.Run("text", func(b *testing.B) { benchPeakRSS(b, "--home", home, "runs", "--limit", "0") })
	b.Run("json", func(b *testing.B) { benchPeakRSS(b, "--home", home, "runs", "--limit", "0", "-o", "json") })
}
