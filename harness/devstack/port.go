package devstack

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Ports are picked at random below the kernel's ephemeral range, so they never clash with
// the local ports of outgoing connections, and differ between concurrent test processes
// with high probability. A port is only returned after binding it succeeded.
const (
	portRangeLow  = 20000
	portRangeHigh = 32000 // exclusive; Linux's ephemeral range starts at 32768 by default
)

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{} // never hand out the same port twice in one process
	portLocks  []*os.File       // held open (and so locked) until the process exits
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Concurrent test
// processes using this package never get the same port: each reserves its ports with a
// lock file under os.TempDir()/devstack-ports that the kernel releases when the process
// exits. Another program may still take the port before the caller binds it; the Start
// functions retry on another port when a server they started on a port of their own
// choice fails to bind it.
func FreePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	low, high := portRangeLow, portRangeHigh
	if eph := ephemeralLow(); eph > 0 && eph < high {
		high = eph
	}
	if high-low >= 1000 {
		for range 50 {
			p := low + rand.IntN(high-low)
			if portsGiven[p] || !reservePort(p) || !canBind(p) {
				continue
			}
			portsGiven[p] = true
			return p, nil
		}
	}
	// Fall back to letting the kernel choose.
	for range 10 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("devstack: find free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsGiven[p] {
			portsGiven[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("devstack: find free port: no unused port found")
}

// reservePort takes an exclusive lock on the port's lock file, or reports that another
// live process holds it. Without a usable lock directory every port counts as reserved
// by nobody.
func reservePort(port int) bool {
	dir := filepath.Join(os.TempDir(), "devstack-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true
	}
	_ = os.Chmod(dir, 0o777|os.ModeSticky) // shared by all users, like /tmp
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)+".lock"), os.O_CREATE|os.O_RDONLY, 0o666)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return false
	}
	portLocks = append(portLocks, f)
	return true
}

// canBind reports whether a listener can bind 127.0.0.1:port right now.
func canBind(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range, or 0 if unknown.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}
