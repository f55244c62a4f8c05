// Command pause is the sandbox container of every pod on kube-local.sh's
// node (containerd's sandbox_image, the kubelet's pod infra image): it holds
// the pod's namespaces, reaps the zombies of processes that share its PID
// namespace, and exits on SIGTERM or SIGINT. Built static (CGO_ENABLED=0), it
// is the image's only file, so that no registry is needed for it.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every child that has exited: signals coalesce, so one
// SIGCHLD may stand for several.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
