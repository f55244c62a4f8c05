// Package servicetest runs a service's command as a process in its own
// tests, to check what the process does from its first second: the test
// binary of a command's main package starts itself again as the command.
//
//	func TestMain(m *testing.M) {
//		servicetest.RunMain(main)
//		goleak.VerifyTestMain(m)
//	}
package servicetest

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runMainEnv tells the test binary to run as the command.
const runMainEnv = "KAFKA_SCALE_SERVICETEST_RUN_MAIN"

// RunMain runs main, which exits, when the test binary was started by
// Start; otherwise it returns at once. Call it first in TestMain.
func RunMain(main func()) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
}

// Process is the command running as a process.
type Process struct {
	// AdminAddr is the admin server's address, from its "listening" log.
	AdminAddr string

	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has exited
	waitErr error
	mu      sync.Mutex
	logs    strings.Builder
}

// Start runs the test binary as the command with args, and waits until it
// logs the admin server's address (at most 30 s, time for a loaded machine
// to start it). The process is killed, if still running, when the test
// ends; its logs are written to the test's log if the test failed.
func Start(t *testing.T, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			var l struct{ Msg, Server, Addr string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "listening" && l.Server == "admin" {
				select {
				case addr <- l.Addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s logs:\n%s", args, p.Logs())
		}
	})
	select {
	case p.AdminAddr = <-addr:
	case <-p.exited:
		t.Fatalf("exited before the admin server listened: %v", p.waitErr)
	case <-time.After(30 * time.Second):
		t.Fatal("no admin server address logged after 30 s")
	}
	return p
}

// Logs is what the process has logged so far.
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// Stop sends SIGTERM and waits at most timeout for the process to exit; it
// returns the exit code.
func (p *Process) Stop(t *testing.T, timeout time.Duration) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("still running %s after SIGTERM", timeout)
		return -1
	}
}

// WaitStatus polls url until it answers with want, failing the test if
// it has not within timeout. Each request may take 200 ms: a server that
// accepts connections but does not serve them fails too.
func WaitStatus(t *testing.T, url string, want int, timeout time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: 200 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err != nil {
			last = err.Error()
			time.Sleep(20 * time.Millisecond) // polling interval
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == want {
			return
		}
		last = resp.Status + ": " + string(b)
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	t.Fatalf("GET %s: want %d within %s, last answer: %s", url, want, timeout, last)
}

// ClosedPort is a loopback address nothing listens on: a broker that is
// down.
func ClosedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
