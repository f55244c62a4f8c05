// Package harness runs the real service binaries for end-to-end tests: it
// starts them with pkg/proc, which finds the addresses they listen on from
// their logs, fails the test when they misbehave, polls conditions with
// deadlines, and stops every process it started.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kafka-scale/kafka-scale/pkg/proc"
	"github.com/kafka-scale/kafka-scale/pkg/scrape"
)

// RepoRoot is the repository's top directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Bin is the path of a binary built by `make build`; the test fails when it
// is missing.
func Bin(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("binary %s missing: run `make build` first (%v)", p, err)
	}
	return p
}

// Bootstrap is the broker the tests use; the test fails when none is set.
func Bootstrap(t testing.TB) string {
	t.Helper()
	b := os.Getenv("KAFKA_BOOTSTRAP_SERVERS")
	if b == "" {
		t.Fatal("KAFKA_BOOTSTRAP_SERVERS is not set: run `make test-integration`, or start a broker with scripts/kafka-local.sh start and export it")
	}
	return b
}

// Proc is a running service process.
type Proc struct {
	t    testing.TB
	Name string
	p    *proc.Proc
	out  *lines
}

// Start runs bin with args; the process is killed at the end of the test if
// it is still running. Its stderr (the JSON logs) goes to a file that is
// printed when the test fails.
func Start(t testing.TB, name, bin string, args []string, env ...string) *Proc {
	t.Helper()
	out := &lines{}
	pp, err := proc.Start(proc.Cmd{Name: name, Path: bin, Args: args, LogDir: t.TempDir(),
		Env: append(os.Environ(), env...), Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{t: t, Name: name, p: pp, out: out}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			p.DumpLog(200)
		}
	})
	return p
}

// Addr waits until the process logs the address of its server called server
// ("admin", "api").
func (p *Proc) Addr(server string, timeout time.Duration) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	addr, err := p.p.Addr(ctx, server)
	if err != nil {
		p.t.Fatalf("after %v: %v", timeout, err)
	}
	return addr
}

// Stdout returns the lines the process printed so far.
func (p *Proc) Stdout() []string { return p.out.get(p.Exited()) }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool { return p.p.Exited() }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) { _ = p.p.Signal(sig) }

// Wait waits for the process to end and returns its exit code.
func (p *Proc) Wait(timeout time.Duration) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := p.p.Wait(ctx)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case errors.Is(err, context.DeadlineExceeded):
		p.DumpLog(50)
		p.t.Fatalf("%s still running after %v", p.Name, timeout)
	case err != nil:
		p.t.Fatal(err)
	}
	return 0
}

// Stop sends SIGTERM and waits for a clean exit (code 0).
func (p *Proc) Stop(timeout time.Duration) {
	p.t.Helper()
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(timeout); code != 0 {
		p.DumpLog(50)
		p.t.Fatalf("%s exited with %d after SIGTERM", p.Name, code)
	}
}

// Kill kills the process group at once (SIGKILL) and waits for it.
func (p *Proc) Kill() { p.p.Kill() }

// Log returns the process's log so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.p.LogPath)
	return string(b)
}

// DumpLog writes the last n lines of the log to the test log.
func (p *Proc) DumpLog(n int) {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	p.t.Logf("--- last %d log lines of %s ---\n%s", len(lines), p.Name, strings.Join(lines, "\n"))
}

// lines keeps what a process prints, line by line.
type lines struct {
	mu   sync.Mutex
	full []string
	part []byte // the line being printed
}

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, b...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		l.full = append(l.full, string(l.part[:i]))
		l.part = l.part[i+1:]
	}
	return len(b), nil
}

// get returns the lines printed so far, the last one without its newline
// too once the process has ended.
func (l *lines) get(ended bool) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.full...)
	if ended && len(l.part) > 0 {
		out = append(out, string(l.part))
	}
	return out
}

// Eventually polls cond every 50 ms until it holds, failing the test with
// cond's last message after timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// GetJSON GETs url and decodes the JSON body into v, returning the status.
func GetJSON(ctx context.Context, url string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if v != nil {
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w (body %q)", url, err, body)
		}
	}
	return resp.StatusCode, nil
}

// Metric reads one series from an admin server's /metrics, written as in
// the exposition (e.g. `kafka_scale_ready` or
// `kafka_scale_aggregator_chunks_total{outcome="duplicate"}`, labels in any
// order); false when the page has no such series.
func Metric(ctx context.Context, adminAddr, series string) (float64, bool, error) {
	s, err := scrape.Get(ctx, "http://"+adminAddr+"/metrics")
	if err != nil {
		return 0, false, err
	}
	return s.Value(series)
}

// MetricSum adds up every sample of the metric called name, whatever its
// labels, and says how many samples there were.
func MetricSum(ctx context.Context, adminAddr, name string) (float64, int, error) {
	s, err := scrape.Get(ctx, "http://"+adminAddr+"/metrics")
	if err != nil {
		return 0, 0, err
	}
	sum, n := s.Sum(name)
	return sum, n, nil
}

// WaitReady polls the process's /readyz until it answers 200.
func (p *Proc) WaitReady(timeout time.Duration) {
	p.t.Helper()
	addr := p.Addr("admin", timeout)
	Eventually(p.t, timeout, func() (bool, string) {
		if p.Exited() {
			return false, fmt.Sprintf("%s exited: %v", p.Name, p.p.Err())
		}
		code, err := GetJSON(context.Background(), "http://"+addr+"/readyz", nil)
		return code == http.StatusOK, fmt.Sprintf("%s not ready (%d, %v)", p.Name, code, err)
	})
}
