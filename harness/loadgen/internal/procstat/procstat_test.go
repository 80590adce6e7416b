package procstat

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		data string
		want stat
	}{
		{
			name: "a plain command name",
			data: "42 (realtime) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 3 4 20 0 9 0 100 1000000 2048 18446744073709551615",
			want: stat{ppid: 1, utime: 250, stime: 50, cutime: 3, cstime: 4, rssPages: 2048},
		},
		{
			name: "a command name with spaces and parentheses",
			data: "7 (postgres: a (b) c) S 6 7 7 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 5 100 30 0",
			want: stat{ppid: 6, utime: 10, stime: 20, rssPages: 30},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("parseStat = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatRejectsTruncatedInput(t *testing.T) {
	if _, err := parseStat([]byte("1 (x) S 0 1")); err == nil {
		t.Fatal("want an error for a truncated stat line")
	}
}

func TestParseVmRSSReturnsBytes(t *testing.T) {
	got, err := parseVmRSS([]byte("Name:\tx\nVmPeak:\t 100 kB\nVmRSS:\t   2048 kB\nThreads: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got != 2048<<10 {
		t.Fatalf("VmRSS = %d, want %d", got, 2048<<10)
	}
}

func TestReadSeesThisProcessBurnCPU(t *testing.T) {
	before, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the kernel has charged 200ms of CPU (wall time says little on a busy box).
	for start := rusageCPU(t); rusageCPU(t)-start < 200*time.Millisecond; {
	}
	after, err := ReadTree(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after.CPU-before.CPU < 150*time.Millisecond {
		t.Errorf("CPU went from %v to %v over 200ms of busy loop", before.CPU, after.CPU)
	}
	if before.RSS <= 0 || after.RSS <= 0 {
		t.Errorf("RSS = %d, %d; want positive", before.RSS, after.RSS)
	}
}

func rusageCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
