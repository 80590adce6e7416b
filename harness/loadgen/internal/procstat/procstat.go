package procstat

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc/<pid>/stat. It is 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// Sample is one reading of a process (or of a process and its children).
type Sample struct {
	// CPU is user plus system time consumed so far.
	CPU time.Duration
	// RSS is resident memory in bytes.
	RSS int64
}

// stat is what Read takes from /proc/<pid>/stat.
type stat struct {
	ppid                         int
	utime, stime, cutime, cstime int64
	rssPages                     int64
}

// parseStat parses the contents of /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may itself hold spaces and parentheses, so fields are counted from the
// last ')'.
func parseStat(data []byte) (stat, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 || end+2 > len(data) {
		return stat{}, fmt.Errorf("procstat: malformed stat %q", data)
	}
	f := bytes.Fields(data[end+2:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22 {
		return stat{}, fmt.Errorf("procstat: stat has %d fields after the name", len(f))
	}
	num := func(field int) int64 {
		v, _ := strconv.ParseInt(string(f[field-3]), 10, 64)
		return v
	}
	return stat{
		ppid: int(num(4)), utime: num(14), stime: num(15), cutime: num(16), cstime: num(17),
		rssPages: num(24),
	}, nil
}

func readStat(pid int) (stat, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return stat{}, fmt.Errorf("procstat: %w", err)
	}
	return parseStat(data)
}

// parseVmRSS returns VmRSS from the contents of /proc/<pid>/status, in bytes.
func parseVmRSS(data []byte) (int64, error) {
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 1 {
			break
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: VmRSS %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("procstat: no VmRSS in status")
}

func ticks(t int64) time.Duration { return time.Duration(t) * time.Second / clockTicks }

// Read samples one process: its own CPU time and VmRSS.
func Read(pid int) (Sample, error) {
	st, err := readStat(pid)
	if err != nil {
		return Sample{}, err
	}
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return Sample{}, fmt.Errorf("procstat: %w", err)
	}
	rss, err := parseVmRSS(status)
	if err != nil {
		return Sample{}, err
	}
	return Sample{CPU: ticks(st.utime + st.stime), RSS: rss}, nil
}

// ReadTree samples a process and its live descendants (PostgreSQL runs one process per
// connection): CPU includes children that have exited and been waited for, RSS is summed,
// so shared memory is counted once per process.
func ReadTree(pid int) (Sample, error) {
	root, err := readStat(pid)
	if err != nil {
		return Sample{}, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return Sample{}, fmt.Errorf("procstat: %w", err)
	}
	children := map[int][]stat{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == pid {
			continue
		}
		st, err := readStat(p)
		if err != nil {
			continue // exited meanwhile
		}
		children[st.ppid] = append(children[st.ppid], st)
	}
	const pageSize = 4096
	s := Sample{CPU: ticks(root.utime + root.stime + root.cutime + root.cstime), RSS: root.rssPages * pageSize}
	var walk func(ppid int)
	walk = func(ppid int) {
		for _, c := range children[ppid] {
			s.CPU += ticks(c.utime + c.stime)
			s.RSS += c.rssPages * pageSize
		}
	}
	walk(pid)
	return s, nil
}
