// Package proc runs service binaries as child processes: each in its own
// process group, its stderr (the service's JSON log) kept in a file, the
// addresses it listens on read from the log's "listening" lines, stopped
// with SIGTERM and, once a grace period is over, SIGKILL to its whole group.
package proc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Cmd is a process to start.
type Cmd struct {
	// Name names the process in errors and its log file,
	// <LogDir>/<Name>.log.
	Name   string
	Path   string
	Args   []string
	LogDir string
	// Env is the process's whole environment, as in exec.Cmd: nil is this
	// process's own.
	Env []string
	// Stdout receives what the process prints; nil appends it to the log
	// file.
	Stdout io.Writer
}

// ErrKilled says that a process did not end within its grace period after
// SIGTERM and was killed.
var ErrKilled = errors.New("still running after the grace period: killed")

// Proc is a started process.
type Proc struct {
	Name    string
	LogPath string
	Started time.Time

	cmd  *exec.Cmd
	done chan struct{}
	err  error // how the process ended, once done is closed

	mu     sync.Mutex
	addrs  map[string]string // server name -> listen address
	logged chan struct{}     // closed, and replaced, when an address is logged
}

// Start runs c. It takes no context: the process lives until it ends, Stop
// or Kill, not until some request does.
func Start(c Cmd) (*Proc, error) {
	logPath := filepath.Join(c.LogDir, c.Name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = c.Env
	// Its own group, so that Kill also ends whatever it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout = c.Stdout
	if c.Stdout == nil {
		cmd.Stdout = logFile
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	p := &Proc{Name: c.Name, LogPath: logPath, Started: time.Now(), cmd: cmd, done: make(chan struct{}),
		addrs: map[string]string{}, logged: make(chan struct{})}
	go func() {
		p.readLog(stderr, logFile)
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// readLog copies the process's log to w line by line, noting the addresses
// it listens on, until the log ends. A line longer than the buffer is kept
// whole but not parsed: the process must never block on a full pipe.
func (p *Proc) readLog(log io.Reader, w io.Writer) {
	r := bufio.NewReaderSize(log, 1<<20)
	long := false
	for {
		line, err := r.ReadSlice('\n')
		_, _ = w.Write(line)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			long = true
		case err == nil:
			if !long {
				p.scan(line)
			}
			long = false
		default: // the end, where the last line may lack its newline
			if len(line) > 0 {
				_, _ = w.Write([]byte{'\n'})
				if !long {
					p.scan(line)
				}
			}
			return
		}
	}
}

func (p *Proc) scan(line []byte) {
	var entry struct {
		Msg    string `json:"msg"`
		Server string `json:"server"`
		Addr   string `json:"addr"`
	}
	if json.Unmarshal(line, &entry) != nil || entry.Msg != "listening" {
		return
	}
	p.mu.Lock()
	p.addrs[entry.Server] = entry.Addr
	close(p.logged)
	p.logged = make(chan struct{})
	p.mu.Unlock()
}

// LoggedAddr is the address the process has logged for its server called
// server ("admin", "api"), "" while it has not; Addr waits for it.
func (p *Proc) LoggedAddr(server string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addrs[server]
}

// Addr waits until the process has logged the address of its server called
// server ("admin", "api"), and fails if it ends first.
func (p *Proc) Addr(ctx context.Context, server string) (string, error) {
	for {
		p.mu.Lock()
		addr, logged := p.addrs[server], p.logged
		p.mu.Unlock()
		if addr != "" {
			return addr, nil
		}
		select {
		case <-logged:
		case <-p.done:
			// Every log line is read before done is closed.
			if addr := p.LoggedAddr(server); addr != "" {
				return addr, nil
			}
			return "", fmt.Errorf("%s: %s address: exited before listening: %v (log %s)", p.Name, server, p.err, p.LogPath)
		case <-ctx.Done():
			return "", fmt.Errorf("%s: %s address: %w", p.Name, server, ctx.Err())
		}
	}
}

// PID is the process's id, also its group's.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Done is closed once the process has ended and its log is complete.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the process ended: nil while it runs or after exit code 0,
// else the error of exec.Cmd.Wait (an *exec.ExitError for a non-zero exit
// or a signal).
func (p *Proc) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// ProcessState is the state of the ended process (exit code, CPU time), nil
// while it runs.
func (p *Proc) ProcessState() *os.ProcessState {
	if !p.Exited() {
		return nil
	}
	return p.cmd.ProcessState
}

// Wait waits for the process to end and returns its error (nil for exit
// code 0).
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s: %w (log %s)", p.Name, p.err, p.LogPath)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", p.Name, ctx.Err())
	}
}

// Signal sends sig to the process (not its group).
func (p *Proc) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s to %s: %w", sig, p.Name, err)
	}
	return nil
}

// Stop ends the process as a kubelet ends a container: SIGTERM, then, if it
// is still running once grace is over, SIGKILL to its group. It returns
// once the process has ended: nil if it had ended before or exits with 0
// now, its exit error, or ErrKilled.
func (p *Proc) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	_ = p.Signal(syscall.SIGTERM) // it may end meanwhile
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s: %w (log %s)", p.Name, p.err, p.LogPath)
		}
		return nil
	case <-t.C:
		p.Kill()
		return fmt.Errorf("%s: %v after SIGTERM: %w (log %s)", p.Name, grace, ErrKilled, p.LogPath)
	}
}

// Kill kills the process's group at once (SIGKILL) and waits for the
// process.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}
