// Package proc runs the service binaries for the benchmark: it starts them
// with pkg/proc (process groups, logs in files, listen addresses from the
// logs), reads their metrics (with pkg/scrape) and CPU time, and stops every
// process it started.
package proc

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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	svcproc "github.com/kafka-scale/kafka-scale/pkg/proc"
	"github.com/kafka-scale/kafka-scale/pkg/scrape"
)

// Group is the set of processes started for one benchmark; Close kills any
// still running.
type Group struct {
	dir string
	env []string

	mu    sync.Mutex
	procs []*Proc
}

// NewGroup starts processes with env added to this process's environment,
// and keeps their logs in dir.
func NewGroup(dir string, env ...string) *Group { return &Group{dir: dir, env: env} }

// Proc is a started process; its stdout is kept for Stdout.
type Proc struct {
	*svcproc.Proc
	stdout bytes.Buffer
}

// Start runs bin with args. Its stderr, the service's JSON log, goes to
// <dir>/<name>.log; its stdout is kept for Stdout.
func (g *Group) Start(name, bin string, args ...string) (*Proc, error) {
	p := &Proc{}
	sp, err := svcproc.Start(svcproc.Cmd{Name: name, Path: bin, Args: args, LogDir: g.dir,
		Env: append(os.Environ(), g.env...), Stdout: &p.stdout})
	if err != nil {
		return nil, err
	}
	p.Proc = sp
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
	return p, nil
}

// Close kills every process of the group that is still running.
func (g *Group) Close() {
	g.mu.Lock()
	procs := slices.Clone(g.procs)
	g.mu.Unlock()
	for _, p := range procs {
		p.Kill()
	}
}

// LibrdkafkaCPU is the CPU time so far of a running process's librdkafka
// threads (named "rdk:..."), 0 once it has exited.
func (p *Proc) LibrdkafkaCPU() time.Duration {
	threads, err := ThreadCPU(p.PID())
	if err != nil {
		return 0
	}
	var d time.Duration
	for name, t := range threads {
		if strings.HasPrefix(name, "rdk:") {
			d += t
		}
	}
	return d
}

// Stdout is what the process printed; complete once it has exited.
func (p *Proc) Stdout() []byte {
	<-p.Done()
	return p.stdout.Bytes()
}

// CPU is the CPU time (user and system) the process used; complete once
// it has exited, else what /proc says so far.
func (p *Proc) CPU() time.Duration {
	if st := p.ProcessState(); st != nil {
		return st.UserTime() + st.SystemTime()
	}
	d, _ := CPUOf(p.PID())
	return d
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go supports.
const clockTick = 100

// CPUOf reads the CPU time (user and system) of a running process from
// /proc.
func CPUOf(pid int) (time.Duration, error) {
	return cpuOfStat(fmt.Sprintf("/proc/%d/stat", pid))
}

func cpuOfStat(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no command name", path)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields", path, len(f))
	}
	var utime, stime int64
	if _, err := fmt.Sscan(f[11], &utime); err != nil {
		return 0, fmt.Errorf("%s utime: %w", path, err)
	}
	if _, err := fmt.Sscan(f[12], &stime); err != nil {
		return 0, fmt.Errorf("%s stime: %w", path, err)
	}
	return time.Duration(utime+stime) * time.Second / clockTick, nil
}

// ThreadCPU is the CPU time (user and system) of a running process's
// threads, summed by thread name with digits dropped: a JVM's
// "C2 CompilerThread0" and "C2 CompilerThread1" count as
// "C CompilerThread".
func ThreadCPU(pid int) (map[string]time.Duration, error) {
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]time.Duration{}
	for _, dir := range dirs {
		comm, err := os.ReadFile(filepath.Join(dir, "comm"))
		if err != nil {
			continue // the thread ended
		}
		tid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		d, err := cpuOfStat(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
		if err != nil {
			continue
		}
		name := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}
			return r
		}, strings.TrimSpace(string(comm)))
		out[name] += d
	}
	return out, nil
}

// Poll calls cond every interval until it returns true or an error, or ctx
// is done.
func Poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// MetricSum adds up every sample of the metric called name on an admin
// server's /metrics, whatever its labels; 0 when it has none.
func MetricSum(ctx context.Context, adminAddr, name string) (float64, error) {
	s, err := scrape.Get(ctx, "http://"+adminAddr+"/metrics")
	if err != nil {
		return 0, err
	}
	sum, _ := s.Sum(name)
	return sum, nil
}

// Ready reports whether an admin server's /readyz answers 200.
func Ready(ctx context.Context, adminAddr string) bool {
	_, err := get(ctx, "http://"+adminAddr+"/readyz")
	return err == nil
}

// GetJSON GETs url and decodes its JSON body into v.
func GetJSON(ctx context.Context, url string, v any) error {
	body, err := get(ctx, url)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

var errStatus = errors.New("HTTP status")

func get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: %w %d", url, errStatus, resp.StatusCode)
	}
	return body, nil
}

// SaveProfile saves a CPU profile of d from an admin server's
// /debug/pprof/profile to path.
func SaveProfile(ctx context.Context, adminAddr string, d time.Duration, path string) error {
	body, err := get(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", adminAddr, int(d.Seconds())))
	if err != nil {
		return err
	}
	return os.WriteFile(path, body, 0o644)
}

// Script runs a script of the repository's (kafka-local.sh, kafka-cluster.sh)
// with env added to the environment, and returns its standard output; on
// failure, its standard error follows, for the error's message.
func Script(ctx context.Context, path string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}
