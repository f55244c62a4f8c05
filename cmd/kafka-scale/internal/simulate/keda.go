package simulate

import "math"

// KafkaMetric is the value KEDA's kafka scaler (pkg/scalers/kafka_scaler.go,
// getTotalLag) serves for a consumer group: the sum of the partitions' lag,
// capped at partitions x lagThreshold unless idle consumers are allowed, so
// that the HPA never asks for more consumers than partitions. The cap
// compares with integer division, as KEDA does. Active says whether the
// trigger counts as active (lag above activationLagThreshold), which only
// matters for scaling from and to zero.
func KafkaMetric(totalLag int64, partitions int, lagThreshold, activationLagThreshold int64, allowIdleConsumers bool) (value int64, active bool) {
	value = totalLag
	if !allowIdleConsumers && lagThreshold > 0 && value/lagThreshold > int64(partitions) {
		value = int64(partitions) * lagThreshold
	}
	return value, totalLag > activationLagThreshold
}

// lagRecords rounds a fractional lag of the model to the whole records
// Kafka's offsets count.
func lagRecords(lag float64) int64 { return int64(math.Round(lag)) }
