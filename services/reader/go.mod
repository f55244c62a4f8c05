module github.com/kafka-scale/kafka-scale/services/reader

go 1.26.0

require (
	github.com/kafka-scale/kafka-scale/pkg v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	go.uber.org/zap v1.28.0
)

require (
	go.uber.org/multierr v1.10.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/kafka-scale/kafka-scale/pkg => ../../pkg
