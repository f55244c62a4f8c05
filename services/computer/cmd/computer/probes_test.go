package main

import (
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kafka-scale/kafka-scale/pkg/service/servicetest"
)

// The test binary runs as the computer when servicetest.Start runs it.
func TestMain(m *testing.M) {
	servicetest.RunMain(main)
	goleak.VerifyTestMain(m)
}

// A computer whose broker is down is alive and not ready: /healthz answers
// 200 and /readyz 503 at once, while it waits for Kafka, and SIGTERM stops
// it.
func TestProbesWithoutABroker(t *testing.T) {
	p := servicetest.Start(t, "--bootstrap-servers", servicetest.ClosedPort(t), "--metrics-addr", "127.0.0.1:0",
		"--kafka-stats-interval", "0")
	base := "http://" + p.AdminAddr
	servicetest.WaitStatus(t, base+"/healthz", http.StatusOK, 2*time.Second)
	servicetest.WaitStatus(t, base+"/readyz", http.StatusServiceUnavailable, 2*time.Second)
	p.Stop(t, 20*time.Second)
}
