package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// helperEnv makes the test binary, run again as a child, act as a service
// (see helper) instead of running the tests.
const helperEnv = "PROC_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	goleak.VerifyTestMain(m)
}

// helper is the child process: it logs as a service does and ends as mode
// says.
func helper(mode string) int {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	switch mode {
	case "serve": // listens, then exits 0 on SIGTERM
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		logf(`{"level":"info","msg":"starting"}`)
		logf("not JSON")
		logf(`{"level":"info","msg":"listening","server":"admin","addr":"127.0.0.1:9001"}`)
		logf(`{"level":"info","msg":"listening","server":"api","addr":"127.0.0.1:9002"}`)
		fmt.Println("to stdout")
		<-term
		logf(`{"level":"info","msg":"stopped"}`)
		return 0
	case "deaf": // ignores SIGTERM, and starts a child that does too
		signal.Ignore(syscall.SIGTERM)
		self, err := os.Executable()
		if err != nil {
			logf("%v", err)
			return 2
		}
		child := exec.Command(self)
		child.Env = append(os.Environ(), helperEnv+"=sleep")
		if err := child.Start(); err != nil {
			logf("%v", err)
			return 2
		}
		fmt.Println(child.Process.Pid)
		logf(`{"msg":"listening","server":"admin","addr":"127.0.0.1:9001"}`)
		_ = child.Wait()
		return 0
	case "sleep": // blocks until killed
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
		return 0
	case "fail": // logs its address and fails at once
		logf(`{"msg":"listening","server":"admin","addr":"127.0.0.1:9001"}`)
		fmt.Fprint(os.Stderr, "bad input") // no newline at the end
		return 3
	case "env":
		fmt.Printf("%s|%s\n", os.Getenv("PROC_TEST_VALUE"), os.Getenv("HOME"))
		return 0
	case "long": // a log line longer than the scanner's buffer, then an address
		logf("%s", strings.Repeat("x", 2<<20))
		logf(`{"msg":"listening","server":"admin","addr":"127.0.0.1:9001"}`)
		return 0
	}
	logf("unknown mode %q", mode)
	return 2
}

// start runs the test binary as a helper in mode, with this process's
// environment, and kills it at the end of the test.
func start(t *testing.T, mode string, c Cmd) *Proc {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	c.Path, c.Env = self, append(os.Environ(), helperEnv+"="+mode)
	if c.Name == "" {
		c.Name = mode
	}
	if c.LogDir == "" {
		c.LogDir = t.TempDir()
	}
	p, err := Start(c)
	require.NoError(t, err)
	t.Cleanup(p.Kill)
	return p
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestAddrFromTheLog(t *testing.T) {
	p := start(t, "serve", Cmd{Name: "computer-1"})
	for _, tc := range []struct{ server, want string }{
		{"admin", "127.0.0.1:9001"},
		{"api", "127.0.0.1:9002"},
	} {
		got, err := p.Addr(ctxFor(t), tc.server)
		require.NoError(t, err, tc.server)
		require.Equal(t, tc.want, got, tc.server)
		require.Equal(t, tc.want, p.LoggedAddr(tc.server), tc.server)
	}
	require.Empty(t, p.LoggedAddr("grpc"))
	require.Equal(t, "computer-1", p.Name)
	require.Equal(t, "computer-1.log", filepath.Base(p.LogPath))

	require.NoError(t, p.Stop(30*time.Second), "exits 0 on SIGTERM")
	require.True(t, p.Exited())
	require.NoError(t, p.Err())
	require.Zero(t, p.ProcessState().ExitCode())
	log, err := os.ReadFile(p.LogPath)
	require.NoError(t, err)
	// The two streams are two pipes: their lines interleave in any order.
	require.ElementsMatch(t, []string{
		`{"level":"info","msg":"starting"}`,
		`not JSON`,
		`{"level":"info","msg":"listening","server":"admin","addr":"127.0.0.1:9001"}`,
		`{"level":"info","msg":"listening","server":"api","addr":"127.0.0.1:9002"}`,
		`to stdout`,
		`{"level":"info","msg":"stopped"}`,
	}, strings.Split(strings.TrimSuffix(string(log), "\n"), "\n"), "stderr, and stdout without a Stdout writer")
}

func TestAddrFails(t *testing.T) {
	for _, tc := range []struct {
		name, mode, server string
		ctx                func() context.Context
		want               string
		is                 error
	}{
		{name: "exits before listening", mode: "fail", server: "api", ctx: context.Background,
			want: "exited before listening: exit status 3"},
		{name: "context ends", mode: "sleep", server: "admin", ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, is: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, tc.mode, Cmd{})
			_, err := p.Addr(tc.ctx(), tc.server)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.mode+": "+tc.server+" address")
			if tc.want != "" {
				require.ErrorContains(t, err, tc.want)
			}
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
		})
	}
}

func TestAddrLoggedJustBeforeExit(t *testing.T) {
	p := start(t, "fail", Cmd{})
	<-p.Done()
	addr, err := p.Addr(ctxFor(t), "admin")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9001", addr)
	var ee *exec.ExitError
	require.ErrorAs(t, p.Wait(ctxFor(t)), &ee)
	require.Equal(t, 3, ee.ExitCode())
	require.ErrorContains(t, p.Wait(ctxFor(t)), "(log "+p.LogPath+")")
	require.NoError(t, p.Stop(time.Second), "stopping an ended process is no error")
	log, err := os.ReadFile(p.LogPath)
	require.NoError(t, err)
	require.Equal(t, `{"msg":"listening","server":"admin","addr":"127.0.0.1:9001"}`+"\nbad input\n", string(log))
}

func TestLongLogLine(t *testing.T) {
	p := start(t, "long", Cmd{})
	require.NoError(t, p.Wait(ctxFor(t)))
	log, err := os.ReadFile(p.LogPath)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("x", 2<<20)+"\n"+`{"msg":"listening","server":"admin","addr":"127.0.0.1:9001"}`+"\n", string(log),
		"the log is kept whole")
	require.Equal(t, "127.0.0.1:9001", p.LoggedAddr("admin"), "lines after the long one are read")
}

func TestStdoutAndEnv(t *testing.T) {
	t.Setenv("HOME", "/home/inherited")
	t.Setenv("PROC_TEST_VALUE", "own")
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{name: "nil: this process's", env: nil, want: "own|/home/inherited\n"},
		{name: "added to this process's", env: append(os.Environ(), "PROC_TEST_VALUE=added", helperEnv+"=env"),
			want: "added|/home/inherited\n"},
		{name: "given whole", env: []string{"PROC_TEST_VALUE=alone", helperEnv + "=env"}, want: "alone|\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(helperEnv, "env") // for the nil case; the tests here already run
			self, err := os.Executable()
			require.NoError(t, err)
			var out syncBuffer
			p, err := Start(Cmd{Name: "env", Path: self, LogDir: t.TempDir(), Env: tc.env, Stdout: &out})
			require.NoError(t, err)
			t.Cleanup(p.Kill)
			require.NoError(t, p.Wait(ctxFor(t)))
			require.Equal(t, tc.want, out.String())
			log, err := os.ReadFile(p.LogPath)
			require.NoError(t, err)
			require.Empty(t, log, "stdout went to the writer")
		})
	}
}

func TestStopKillsTheGroupAfterGrace(t *testing.T) {
	var out syncBuffer
	p := start(t, "deaf", Cmd{Stdout: &out})
	_, err := p.Addr(ctxFor(t), "admin")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return strings.HasSuffix(out.String(), "\n") }, 30*time.Second, 10*time.Millisecond,
		"the helper prints its child's pid")
	child, err := strconv.Atoi(strings.TrimSpace(out.String()))
	require.NoError(t, err)

	err = p.Stop(100 * time.Millisecond)
	require.ErrorIs(t, err, ErrKilled)
	require.ErrorContains(t, err, "deaf: 100ms after SIGTERM")
	require.True(t, p.Exited())
	var ee *exec.ExitError
	require.ErrorAs(t, p.Err(), &ee)
	require.Equal(t, syscall.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal())
	require.Eventually(t, func() bool { return gone(child) }, 30*time.Second, 10*time.Millisecond,
		"the child in the group is killed too")
}

func TestKill(t *testing.T) {
	p := start(t, "sleep", Cmd{})
	require.NoError(t, p.Signal(syscall.Signal(0)), "running")
	p.Kill()
	require.True(t, p.Exited())
	require.Error(t, p.Err())
	require.Error(t, p.Signal(syscall.SIGTERM), "ended")
	p.Kill() // again: nothing to do
}

func TestStartFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Cmd
		want string
	}{
		{name: "no binary", c: Cmd{Name: "x", Path: filepath.Join(t.TempDir(), "missing"), LogDir: t.TempDir()}, want: "start x: "},
		{name: "no log dir", c: Cmd{Name: "y", Path: "/bin/true", LogDir: filepath.Join(t.TempDir(), "missing")}, want: "start y: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(tc.c)
			require.ErrorContains(t, err, tc.want)
			require.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
		})
	}
}

// gone reports whether pid has ended: no such process, or a zombie that
// nobody here reaps.
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// syncBuffer keeps what a process prints, for a test to read meanwhile.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
