// Package security holds what the end-to-end test of least privilege
// (acl_integration_test.go, tag integration) needs from Strimzi: its
// KafkaUser, and the translation of a KafkaUser's simple authorization into
// the Kafka ACL bindings Strimzi's User Operator would create.
package security

import (
	"fmt"
	"regexp"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// ResourceTransactionalID is librdkafka's RD_KAFKA_RESOURCE_TRANSACTIONAL_ID,
// for which the Go client names no constant.
const ResourceTransactionalID kafka.ResourceType = 5

var camel = regexp.MustCompile(`([a-z])([A-Z])`)

// KafkaUser is a Strimzi KafkaUser as the charts render it.
type KafkaUser struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Authentication struct {
			Type string `json:"type"`
		} `json:"authentication"`
		Authorization struct {
			Type string `json:"type"`
			ACLs []ACL  `json:"acls"`
		} `json:"authorization"`
	} `json:"spec"`
}

// ACL is one rule of a KafkaUser's simple authorization.
type ACL struct {
	Resource struct {
		Type        string `json:"type"`
		Name        string `json:"name"`
		PatternType string `json:"patternType"`
	} `json:"resource"`
	Type       string   `json:"type"` // allow (the default) or deny
	Operations []string `json:"operations"`
	Host       string   `json:"host"`
}

// Bindings translates a KafkaUser's simple authorization into Kafka ACL
// bindings, one per operation, as Strimzi's User Operator does.
func Bindings(u KafkaUser) (kafka.ACLBindings, error) {
	var out kafka.ACLBindings
	for i, a := range u.Spec.Authorization.ACLs {
		var rt kafka.ResourceType
		name := a.Resource.Name
		switch a.Resource.Type {
		case "topic":
			rt = kafka.ResourceTopic
		case "group":
			rt = kafka.ResourceGroup
		case "transactionalId":
			rt = ResourceTransactionalID
		case "cluster":
			rt, name = kafka.ResourceBroker, "kafka-cluster" // librdkafka's BROKER is the protocol's CLUSTER
		default:
			return nil, fmt.Errorf("%s: acl %d: resource type %q: want topic, group, transactionalId or cluster", u.Metadata.Name, i, a.Resource.Type)
		}
		pattern := kafka.ResourcePatternTypeLiteral
		switch a.Resource.PatternType {
		case "", "literal":
		case "prefix":
			pattern = kafka.ResourcePatternTypePrefixed
		default:
			return nil, fmt.Errorf("%s: acl %d: patternType %q: want literal or prefix", u.Metadata.Name, i, a.Resource.PatternType)
		}
		perm := kafka.ACLPermissionTypeAllow
		switch a.Type {
		case "", "allow":
		case "deny":
			perm = kafka.ACLPermissionTypeDeny
		default:
			return nil, fmt.Errorf("%s: acl %d: type %q: want allow or deny", u.Metadata.Name, i, a.Type)
		}
		host := a.Host
		if host == "" {
			host = "*"
		}
		for _, op := range a.Operations {
			// Strimzi's IdempotentWrite is the protocol's IDEMPOTENT_WRITE.
			o, err := kafka.ACLOperationFromString(camel.ReplaceAllString(op, "${1}_${2}"))
			if err != nil {
				return nil, fmt.Errorf("%s: acl %d: operation %q: %w", u.Metadata.Name, i, op, err)
			}
			out = append(out, kafka.ACLBinding{Type: rt, Name: name, ResourcePatternType: pattern,
				Principal: "User:" + u.Metadata.Name, Host: host, Operation: o, PermissionType: perm})
		}
	}
	return out, nil
}
