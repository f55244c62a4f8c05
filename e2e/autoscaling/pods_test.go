//go:build autoscaling

package autoscaling

// What the test knows of the release's pods, all from the Kubernetes API:
// a watch notes when each pod was first seen (the API's creationTimestamp
// has whole seconds only), its address, whether its container runs, its
// restarts and how each container ended; the pods' logs come from the
// API's log endpoint (the kubelet's), as kubectl logs reads them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// adminPort is the services' admin port, the charts' metricsPort.
const adminPort = 9090

// pod is what the watch last saw of one pod.
type pod struct {
	name      string
	uid       string
	component string    // app.kubernetes.io/component: computer, aggregator
	seen      time.Time // when the watch first saw it
	ip        string
	running   bool // its container runs (a terminating pod's too)
	deleting  bool
	restarts  int32
	// exit is how its container last ended, nil while it has not.
	exit *corev1.ContainerStateTerminated
	// A computer's: when it first answered /readyz with 200 (it has
	// partitions), and from its log then, when it asked to join its group
	// and when it got its first partitions.
	readyAt, join, assigned time.Time
	joinErr                 error
	watching                bool
}

// pods follows the release's pods through a watch.
type pods struct {
	cs  kubernetes.Interface
	ns  string
	ctx context.Context // run's

	mu  sync.Mutex
	all map[string]*pod // by name, deleted ones included
}

func newPods(cs kubernetes.Interface, ns string) *pods {
	return &pods{cs: cs, ns: ns, all: map[string]*pod{}}
}

// run lists and watches the pods until ctx ends.
func (ps *pods) run(ctx context.Context, selector string) error {
	ps.mu.Lock()
	ps.ctx = ctx
	ps.mu.Unlock()
	for ctx.Err() == nil {
		list, err := ps.cs.CoreV1().Pods(ps.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("list pods %s: %w", selector, err)
		}
		for i := range list.Items {
			ps.update(&list.Items[i], false)
		}
		w, err := ps.cs.CoreV1().Pods(ps.ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: list.ResourceVersion})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch pods %s: %w", selector, err)
		}
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				ps.update(p, ev.Type == watch.Deleted)
			} // else an error event: list again
		}
		w.Stop()
	}
	return nil
}

func (ps *pods) update(p *corev1.Pod, deleted bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	s, ok := ps.all[p.Name]
	if !ok {
		s = &pod{name: p.Name, uid: string(p.UID), component: p.Labels["app.kubernetes.io/component"], seen: time.Now()}
		ps.all[p.Name] = s
	}
	defer func() {
		if s.component == "computer" && s.running && s.ip != "" && !s.watching {
			s.watching = true
			go ps.watchReady(ps.ctx, s.name, s.ip)
		}
	}()
	s.ip = p.Status.PodIP
	s.deleting = deleted || p.DeletionTimestamp != nil
	s.running = false
	for _, c := range p.Status.ContainerStatuses {
		s.restarts = c.RestartCount
		s.running = c.State.Running != nil && !deleted
		switch {
		case c.State.Terminated != nil:
			s.exit = c.State.Terminated.DeepCopy()
		case c.LastTerminationState.Terminated != nil && s.exit == nil:
			s.exit = c.LastTerminationState.Terminated.DeepCopy()
		}
	}
}

// watchReady notes when a computer first answers /readyz with 200 (it has
// partitions), then reads its join times from its log.
func (ps *pods) watchReady(ctx context.Context, name, ip string) {
	c := http.Client{Timeout: 2 * time.Second}
	url := "http://" + net.JoinHostPort(ip, strconv.Itoa(adminPort)) + "/readyz"
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := c.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		ps.mu.Lock()
		gone := ps.all[name].deleting || !ps.all[name].running
		ps.mu.Unlock()
		if gone {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	readyAt := time.Now()
	ps.mu.Lock()
	ps.all[name].readyAt = readyAt
	ps.mu.Unlock()
	// /readyz turns 200 as the partitions come, and the log line saying so
	// reaches the kubelet's log file through containerd a moment later: read
	// the log until it has both lines (or the pod goes).
	var join, assigned time.Time
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; {
		var log []byte
		if log, err = logs(ctx, ps.cs, ps.ns, name, false); err == nil {
			if join, assigned, err = joinTimes(log); err == nil {
				break
			}
		}
		ps.mu.Lock()
		gone := ps.all[name].deleting
		ps.mu.Unlock()
		if gone || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	ps.mu.Lock()
	ps.all[name].join, ps.all[name].assigned, ps.all[name].joinErr = join, assigned, err
	ps.mu.Unlock()
}

// running lists the pods of a component whose container runs.
func (ps *pods) running(component string) []pod {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []pod
	for _, p := range ps.all {
		if p.component == component && p.running {
			out = append(out, *p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// list lists every pod seen, live or not, oldest first.
func (ps *pods) list() []pod {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []pod
	for _, p := range ps.all {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seen.Before(out[j].seen) })
	return out
}

// failedStops lists the pods deleted whose container ended other than with
// 0: a SIGTERM must end a service cleanly. A pod whose end the watch did
// not see is left out.
func (ps *pods) failedStops() []string {
	var out []string
	for _, p := range ps.list() {
		if p.deleting && p.exit != nil && p.exit.ExitCode != 0 {
			out = append(out, fmt.Sprintf("%s: exit %d (%s)", p.name, p.exit.ExitCode, p.exit.Reason))
		}
	}
	return out
}

// logs is a container's log as the kubelet keeps it; previous: the one of
// the container before its last restart.
func logs(ctx context.Context, cs kubernetes.Interface, ns, name string, previous bool) ([]byte, error) {
	rc, err := cs.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Previous: previous}).Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("logs of pod %s (previous %t): %w", name, previous, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("logs of pod %s (previous %t): %w", name, previous, err)
	}
	return b, nil
}

// joinTimes reads from a computer's log when it began to join its group
// and when it first got partitions.
func joinTimes(log []byte) (join, assigned time.Time, err error) {
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			TS    time.Time `json:"ts"`
			Msg   string    `json:"msg"`
			Group string    `json:"group"`
			Added int       `json:"added"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		switch {
		case e.Msg == "starting" && e.Group != "" && join.IsZero():
			join = e.TS
		case e.Msg == "partitions assigned" && e.Added > 0 && !join.IsZero():
			return join, e.TS, nil
		}
	}
	if err := sc.Err(); err != nil {
		return join, assigned, err
	}
	return join, assigned, fmt.Errorf("no \"starting\" then \"partitions assigned\" in the log")
}

// lastError is the last error or fatal line of a log, "" if none.
func lastError(log []byte) string {
	var last string
	for _, l := range strings.Split(string(log), "\n") {
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(l), &e) == nil && (e.Level == "error" || e.Level == "fatal") {
			last = e.Msg + ": " + e.Error
		}
	}
	return last
}

// dump writes to the test log, for each pod still there, its warnings and
// errors (at most lines of them), one short line each: the test's own
// failure stays near the end of the output.
func (ps *pods) dump(t *testing.T, lines int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range ps.list() {
		if p.deleting {
			continue
		}
		b, err := logs(ctx, ps.cs, ps.ns, p.name, false)
		if err != nil {
			t.Logf("%v", err)
			continue
		}
		var notable []string
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if s, ok := notableLine(l); ok {
				notable = append(notable, s)
			}
		}
		if len(notable) > lines {
			notable = append([]string{fmt.Sprintf("(%d earlier lines left out)", len(notable)-lines)}, notable[len(notable)-lines:]...)
		}
		t.Logf("--- %s (%s, %d restarts): %d warnings and errors ---\n%s", p.name, p.component, p.restarts, len(notable),
			strings.Join(notable, "\n"))
	}
}

// notableLine shortens a JSON log line of level warn or above to its time,
// level, message and error; other levels are left out. A line that is not
// JSON (a panic, the runtime's output) is kept as it is.
func notableLine(line string) (string, bool) {
	var l struct {
		TS    string `json:"ts"`
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		return line, strings.TrimSpace(line) != ""
	}
	if l.Level == "debug" || l.Level == "info" {
		return "", false
	}
	s := fmt.Sprintf("%s %s %s", strings.TrimPrefix(l.TS, time.Now().Format("2006-01-02T")), l.Level, l.Msg)
	if l.Error != "" {
		s += ": " + l.Error
	}
	const maxLen = 300
	if len(s) > maxLen {
		s = s[:maxLen] + "…"
	}
	return s, true
}

func TestAutoscalingJoinTimes(t *testing.T) {
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return ts
	}
	for _, tc := range []struct {
		name             string
		log              string
		join, assigned   time.Time
		wantErr, lastErr string
	}{
		{
			name: "joined then assigned",
			log: `{"ts":"2026-12-03T06:00:00.100Z","level":"info","msg":"starting","version":"v1"}
{"ts":"2026-12-03T06:00:01.200Z","level":"info","msg":"starting","group":"g"}
{"ts":"2026-12-03T06:00:03.000Z","level":"info","msg":"partitions assigned","added":0}
{"ts":"2026-12-03T06:00:07.500Z","level":"info","msg":"partitions assigned","added":2}
not json
{"ts":"2026-12-03T06:00:09.000Z","level":"error","msg":"commit","error":"fenced"}`,
			join: at("2026-12-03T06:00:01.200Z"), assigned: at("2026-12-03T06:00:07.500Z"), lastErr: "commit: fenced",
		},
		{
			name:    "never assigned",
			log:     `{"ts":"2026-12-03T06:00:01.200Z","level":"info","msg":"starting","group":"g"}`,
			join:    at("2026-12-03T06:00:01.200Z"),
			wantErr: `no "starting" then "partitions assigned" in the log`,
		},
		{
			name:    "assigned before joining is not a join",
			log:     `{"ts":"2026-12-03T06:00:01.200Z","level":"info","msg":"partitions assigned","added":1}`,
			wantErr: `no "starting" then "partitions assigned" in the log`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			join, assigned, err := joinTimes([]byte(tc.log))
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.True(t, tc.join.Equal(join), "join %v, want %v", join, tc.join)
			require.True(t, tc.assigned.Equal(assigned), "assigned %v, want %v", assigned, tc.assigned)
			require.Equal(t, tc.lastErr, lastError([]byte(tc.log)))
		})
	}
}
