// Package metrics builds the one Prometheus registry of a process.
//
// Components take a prometheus.Registerer and register their own collectors
// on it; nothing registers on the global default registry.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/kafka-scale/kafka-scale/pkg/version"
)

// Namespace prefixes every metric of the project.
const Namespace = "kafka_scale"

// NewRegistry returns a registry with the Go runtime, process and build-info
// collectors for the service called service.
func NewRegistry(service string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promauto.With(reg).NewGaugeFunc(prometheus.GaugeOpts{
		Namespace:   Namespace,
		Name:        "build_info",
		Help:        "Build of the running service; always 1.",
		ConstLabels: prometheus.Labels{"service": service, "version": version.Version, "commit": version.Commit},
	}, func() float64 { return 1 })
	return reg
}
