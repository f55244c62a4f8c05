// Package httpserver runs HTTP servers with graceful shutdown, and provides
// the admin handler every service exposes: /metrics, /healthz, /readyz and
// /debug/pprof.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// ShutdownTimeout bounds how long Serve waits for in-flight requests.
const ShutdownTimeout = 10 * time.Second

// Limits bound what one client can hold of a server: how long it may take
// to send its headers and its request, how long a response may take to
// write, how long an idle keep-alive connection stays open, and how large
// its headers and body may be. Without them a client that sends its
// headers one byte at a time (slowloris) holds a connection and a
// goroutine for ever, and one with megabytes of headers holds the memory.
type Limits struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	MaxBodyBytes      int64
}

// DefaultLimits are every server's. The requests are small GETs from
// Prometheus, kubelet probes, people and the admin CLI, so a few seconds
// for the headers and 16 KiB of them are plenty; writes get 60 s because a
// CPU profile (/debug/pprof/profile, 30 s by default) writes only once it
// has run; no endpoint takes a body, and 1 MiB bounds one if it comes.
var DefaultLimits = Limits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      60 * time.Second,
	IdleTimeout:       2 * time.Minute,
	MaxHeaderBytes:    16 << 10,
	MaxBodyBytes:      1 << 20,
}

// Server is a listening HTTP server.
type Server struct {
	name string
	srv  *http.Server
	ln   net.Listener
	log  *zap.Logger
}

// Listen binds addr (":0" and "127.0.0.1:0" pick a free port) so that Addr
// is known before Serve runs. The server applies DefaultLimits.
func Listen(name, addr string, h http.Handler, log *zap.Logger) (*Server, error) {
	return ListenLimits(name, addr, h, log, DefaultLimits)
}

// ListenLimits is Listen with limits of the caller's.
func ListenLimits(name, addr string, h http.Handler, log *zap.Logger, l Limits) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s server: listen on %q: %w", name, addr, err)
	}
	log.Info("listening", zap.String("server", name), zap.String("addr", ln.Addr().String()))
	return &Server{
		name: name,
		ln:   ln,
		log:  log,
		srv: &http.Server{
			Handler:           http.MaxBytesHandler(h, l.MaxBodyBytes),
			ReadHeaderTimeout: l.ReadHeaderTimeout,
			ReadTimeout:       l.ReadTimeout,
			WriteTimeout:      l.WriteTimeout,
			IdleTimeout:       l.IdleTimeout,
			MaxHeaderBytes:    l.MaxHeaderBytes,
			ErrorLog:          zap.NewStdLog(log.Named(name)),
		},
	}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until ctx is done, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s server on %s: %w", s.name, s.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("%s server on %s: shutdown: %w", s.name, s.Addr(), err)
	}
	return nil
}

// Probe is a readiness flag with the reason it is not ready. Services set it
// from their lifecycle: ready once assigned, restored or caught up.
type Probe struct {
	mu     sync.Mutex
	ready  bool
	reason string
	gauge  prometheus.Gauge
}

// NewProbe returns a probe that starts not ready with reason, and exports
// kafka_scale_ready on reg.
func NewProbe(reg prometheus.Registerer, reason string) *Probe {
	p := &Probe{reason: reason, gauge: promauto.With(reg).NewGauge(prometheus.GaugeOpts{
		Name: "kafka_scale_ready",
		Help: "1 when the service reports ready on /readyz, else 0.",
	})}
	return p
}

// SetReady marks the service ready.
func (p *Probe) SetReady() { p.set(true, "") }

// SetNotReady marks the service not ready, saying why.
func (p *Probe) SetNotReady(reason string) { p.set(false, reason) }

func (p *Probe) set(ready bool, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ready, p.reason = ready, reason
	if ready {
		p.gauge.Set(1)
	} else {
		p.gauge.Set(0)
	}
}

// Ready reports the state and, when not ready, why.
func (p *Probe) Ready() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready, p.reason
}

// AdminHandler serves /metrics from g, /healthz, /readyz from probe, and pprof.
func AdminHandler(g prometheus.Gatherer, probe *Probe) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready, reason := probe.Ready(); !ready {
			http.Error(w, "not ready: "+reason, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
