package fleet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/worker"
)

// Config describes the worker processes to start.
type Config struct {
	// Workers is how many processes to start.
	Workers int
	// Exe and Args start one worker; the worker's index is appended as the last argument.
	Exe  string
	Args []string
	// Env is added to the parent's environment.
	Env []string
	// Stderr receives the workers' diagnostics (default os.Stderr).
	Stderr io.Writer
}

// Fleet is a set of running worker processes.
type Fleet struct {
	procs []*proc
}

type proc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	inMu  sync.Mutex
	enc   *json.Encoder
	done  chan struct{}
	err   error // why the reply stream ended, set before done closes
	mu    sync.Mutex
	next  int
	waits map[int]chan worker.Reply
}

// Start starts the workers.
func Start(ctx context.Context, cfg Config) (f *Fleet, err error) {
	if cfg.Workers < 1 {
		return nil, errors.New("fleet: at least one worker is needed")
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	f = &Fleet{}
	defer func() {
		if err != nil {
			f.Kill()
		}
	}()
	for i := 0; i < cfg.Workers; i++ {
		// Workers outlive no driver: they exit when their stdin closes, and Kill ends them.
		cmd := exec.Command(cfg.Exe, append(append([]string(nil), cfg.Args...), fmt.Sprint(i))...)
		cmd.Env = append(os.Environ(), cfg.Env...)
		cmd.Stderr = cfg.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return f, fmt.Errorf("fleet: worker %d stdin: %w", i, err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return f, fmt.Errorf("fleet: worker %d stdout: %w", i, err)
		}
		if err := cmd.Start(); err != nil {
			return f, fmt.Errorf("fleet: start worker %d: %w", i, err)
		}
		p := &proc{cmd: cmd, in: in, enc: json.NewEncoder(in), done: make(chan struct{}), waits: map[int]chan worker.Reply{}}
		f.procs = append(f.procs, p)
		go p.readReplies(out)
	}
	return f, ctx.Err()
}

func (p *proc) readReplies(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	for sc.Scan() {
		var r worker.Reply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue
		}
		p.mu.Lock()
		w := p.waits[r.ID]
		delete(p.waits, r.ID)
		p.mu.Unlock()
		if w != nil {
			w <- r
		}
	}
	p.err = sc.Err()
	if p.err == nil {
		p.err = errors.New("worker ended")
	}
	close(p.done)
}

// Size is the number of workers.
func (f *Fleet) Size() int { return len(f.procs) }

// Pids are the workers' process ids.
func (f *Fleet) Pids() []int {
	var pids []int
	for _, p := range f.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	return pids
}

// Do sends cmd to worker i and waits for its reply.
func (f *Fleet) Do(ctx context.Context, i int, cmd worker.Command) (worker.Reply, error) {
	p := f.procs[i]
	ch := make(chan worker.Reply, 1)
	p.mu.Lock()
	p.next++
	cmd.ID = p.next
	p.waits[cmd.ID] = ch
	p.mu.Unlock()
	p.inMu.Lock()
	err := p.enc.Encode(cmd)
	p.inMu.Unlock()
	if err != nil {
		return worker.Reply{}, fmt.Errorf("fleet: send %s to worker %d: %w", cmd.Op, i, err)
	}
	select {
	case r := <-ch:
		if r.Error != "" {
			return r, fmt.Errorf("fleet: worker %d %s: %s", i, cmd.Op, r.Error)
		}
		return r, nil
	case <-p.done:
		return worker.Reply{}, fmt.Errorf("fleet: worker %d ended during %s: %w", i, cmd.Op, p.err)
	case <-ctx.Done():
		return worker.Reply{}, fmt.Errorf("fleet: worker %d %s: %w", i, cmd.Op, ctx.Err())
	}
}

// All sends every worker the command cmd(i) at once and returns the replies by worker.
func (f *Fleet) All(ctx context.Context, cmd func(i int) worker.Command) ([]worker.Reply, error) {
	replies := make([]worker.Reply, len(f.procs))
	errs := make([]error, len(f.procs))
	var wg sync.WaitGroup
	for i := range f.procs {
		wg.Go(func() { replies[i], errs[i] = f.Do(ctx, i, cmd(i)) })
	}
	wg.Wait()
	return replies, errors.Join(errs...)
}

// Close asks every worker to close its connections and exit, and waits for them (killing
// those that do not exit in time).
func (f *Fleet) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := f.All(ctx, func(int) worker.Command { return worker.Command{Op: worker.OpClose} })
	for _, p := range f.procs {
		_ = p.in.Close()
	}
	waited := make(chan struct{})
	go func() {
		for _, p := range f.procs {
			_ = p.cmd.Wait()
		}
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		f.Kill()
		<-waited
	}
	return err
}

// Kill ends every worker at once.
func (f *Fleet) Kill() {
	for _, p := range f.procs {
		if p.cmd.Process != nil {
			_ = p.cmd.Process.Kill()
		}
		_ = p.in.Close()
	}
}
