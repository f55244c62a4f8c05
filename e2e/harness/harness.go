// Package harness runs the real service binaries for end-to-end tests: it
// starts them as processes, finds the addresses they listen on from their
// logs, polls conditions with deadlines, and stops every process it started.
package harness

import (
	"bufio"
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
	t       testing.TB
	Name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	exitErr error

	mu    sync.Mutex
	addrs map[string]string // server name -> listen address
	lines []string          // stdout lines
}

// Start runs bin with args; the process is killed at the end of the test if
// it is still running. Its stderr (the JSON logs) goes to a file that is
// printed when the test fails.
func Start(t testing.TB, name, bin string, args []string, env ...string) *Proc {
	t.Helper()
	dir := t.TempDir()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create log for %s: %v", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{t: t, Name: name, cmd: cmd, logPath: logPath, done: make(chan struct{}), addrs: map[string]string{}}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = logFile.Write(append(line, '\n'))
			p.scanLog(line)
		}
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
	}()
	go func() {
		readers.Wait()
		p.exitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			p.DumpLog(200)
		}
	})
	return p
}

func (p *Proc) scanLog(line []byte) {
	var entry struct {
		Msg    string `json:"msg"`
		Server string `json:"server"`
		Addr   string `json:"addr"`
	}
	if json.Unmarshal(line, &entry) == nil && entry.Msg == "listening" {
		p.mu.Lock()
		p.addrs[entry.Server] = entry.Addr
		p.mu.Unlock()
	}
}

// Addr waits until the process logs the address of its server called server
// ("admin", "api").
func (p *Proc) Addr(server string, timeout time.Duration) string {
	p.t.Helper()
	var addr string
	Eventually(p.t, timeout, func() (bool, string) {
		p.mu.Lock()
		addr = p.addrs[server]
		p.mu.Unlock()
		if p.Exited() {
			return false, fmt.Sprintf("%s exited before listening: %v", p.Name, p.exitErr)
		}
		return addr != "", fmt.Sprintf("%s has not logged its %s address", p.Name, server)
	})
	return addr
}

// Stdout returns the lines the process printed so far.
func (p *Proc) Stdout() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

// Wait waits for the process to end and returns its exit code.
func (p *Proc) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.DumpLog(50)
		p.t.Fatalf("%s still running after %v", p.Name, timeout)
	}
	var ee *exec.ExitError
	if errors.As(p.exitErr, &ee) {
		return ee.ExitCode()
	}
	if p.exitErr != nil {
		p.t.Fatalf("%s: %v", p.Name, p.exitErr)
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
func (p *Proc) Kill() {
	if p.cmd.Process != nil && !p.Exited() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Log returns the process's log so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.logPath)
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

// Metric reads one sample of the metric name (with labels exactly as in the
// exposition, e.g. `kafka_scale_ready`) from an admin server's /metrics.
func Metric(ctx context.Context, adminAddr, series string) (float64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err != nil {
				return 0, false, fmt.Errorf("metric %s: %q: %w", series, line, err)
			}
			return v, true, nil
		}
	}
	return 0, false, sc.Err()
}

// MetricSum adds up every sample of the metric called name, whatever its
// labels, and says how many samples there were.
func MetricSum(ctx context.Context, adminAddr, name string) (float64, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var (
		sum float64
		n   int
	)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err != nil {
			return 0, 0, fmt.Errorf("metric %s: %q: %w", name, line, err)
		}
		sum += v
		n++
	}
	return sum, n, sc.Err()
}

// WaitReady polls the process's /readyz until it answers 200.
func (p *Proc) WaitReady(timeout time.Duration) {
	p.t.Helper()
	addr := p.Addr("admin", timeout)
	Eventually(p.t, timeout, func() (bool, string) {
		if p.Exited() {
			return false, fmt.Sprintf("%s exited: %v", p.Name, p.exitErr)
		}
		code, err := GetJSON(context.Background(), "http://"+addr+"/readyz", nil)
		return code == http.StatusOK, fmt.Sprintf("%s not ready (%d, %v)", p.Name, code, err)
	})
}
