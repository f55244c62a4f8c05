package service

import (
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/logging"
)

func logConfig(level string) logging.Config { return logging.Config{Level: level, Format: "json"} }

var local = extkafka.Config{BootstrapServers: "127.0.0.1:9092"}

// anyPort has the admin server pick a free loopback port.
const anyPort = "127.0.0.1:0"
