module github.com/kafka-scale/kafka-scale/services/reader

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	go.uber.org/zap v1.28.0
)

require (
	go.uber.org/multierr v1.10.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/kafka-scale/kafka-scale/pkg => ../../pkg
