// Command apiforward relays TCP connections from one address to another. It
// gives pods on scripts/kube-local.sh's node a way to the API server, which
// listens on 127.0.0.1 only: Prometheus's Kubernetes service discovery runs
// in its pod and connects to the node's bridge address, and apiforward passes
// the bytes on, TLS untouched, so the API server's certificate and the pod's
// service-account token are checked end to end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

func main() {
	listen := flag.String("listen", "10.244.0.1:24702", "address to accept connections on")
	target := flag.String("target", "127.0.0.1:6443", "address to relay them to")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *target); err != nil {
		log.Printf("apiforward: %v", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen, target string) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	log.Printf("apiforward: relaying %s to %s", listen, target)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept on %s: %w", listen, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			relay(ctx, c, target)
		}()
	}
}

func relay(ctx context.Context, c net.Conn, target string) {
	defer c.Close()
	var d net.Dialer
	t, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		log.Printf("apiforward: dial %s for %s: %v", target, c.RemoteAddr(), err)
		return
	}
	defer t.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		if _, err := io.Copy(dst, src); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Printf("apiforward: %s: %v", c.RemoteAddr(), err)
		}
		done <- struct{}{}
	}
	go pipe(t, c)
	go pipe(c, t)
	select {
	case <-done:
	case <-ctx.Done():
	}
}
