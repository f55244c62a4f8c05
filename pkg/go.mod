module github.com/kafka-scale/kafka-scale/pkg

go 1.25.0
