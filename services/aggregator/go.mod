module github.com/kafka-scale/kafka-scale/services/aggregator

go 1.26.0

require github.com/kafka-scale/kafka-scale/pkg v0.0.0

require github.com/go-chi/chi/v5 v5.5.0 // indirect

replace github.com/kafka-scale/kafka-scale/pkg => ../../pkg
