package extkafka

import (
	"fmt"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Resource types of Kafka ACLs, as an ACL names them.
const (
	ResourceTopic           = "topic"
	ResourceGroup           = "group"
	ResourceTransactionalID = "transactionalId"
	ResourceCluster         = "cluster"
)

// authzCodes are the broker's refusals for want of an ACL, by the resource
// type each refers to, with the name the protocol gives them.
var authzCodes = map[kafka.ErrorCode]struct{ resource, name string }{
	kafka.ErrTopicAuthorizationFailed:           {ResourceTopic, "TOPIC_AUTHORIZATION_FAILED"},
	kafka.ErrGroupAuthorizationFailed:           {ResourceGroup, "GROUP_AUTHORIZATION_FAILED"},
	kafka.ErrTransactionalIDAuthorizationFailed: {ResourceTransactionalID, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"},
	kafka.ErrClusterAuthorizationFailed:         {ResourceCluster, "CLUSTER_AUTHORIZATION_FAILED"},
}

// AuthorizationResource reports whether err is the broker refusing a
// request for want of an ACL, and the type of resource the refusal is
// about (ResourceTopic, ResourceGroup, ...). Such an error does not go away
// by retrying: an operator must grant the ACL or fix the service's
// configuration.
func AuthorizationResource(err error) (string, bool) {
	ke, ok := kafkaError(err)
	if !ok {
		return "", false
	}
	c, ok := authzCodes[ke.Code()]
	return c.resource, ok
}

// NotAuthorizedError is a refusal for want of an ACL, with the resource it
// concerns and the operations an ACL must allow on it.
type NotAuthorizedError struct {
	ResourceType string
	Name         string // empty for the cluster
	Operations   []string
	Err          error
}

func (e *NotAuthorizedError) Error() string {
	res := e.ResourceType
	if e.Name != "" {
		res = fmt.Sprintf("%s %q", e.ResourceType, e.Name)
	}
	code := "authorization failed"
	if ke, ok := kafkaError(e.Err); ok {
		code = authzCodes[ke.Code()].name
	}
	return fmt.Sprintf("not authorized on %s (%s): the Kafka user needs an ACL allowing %s on %s: %v",
		res, code, strings.Join(e.Operations, ", "), res, e.Err)
}

func (e *NotAuthorizedError) Unwrap() error { return e.Err }

// NotAuthorized returns err as a *NotAuthorizedError naming the resource and
// the operations the request needed when err is an authorization failure
// about that type of resource, and err unchanged otherwise.
func NotAuthorized(err error, resourceType, name string, operations ...string) error {
	if rt, ok := AuthorizationResource(err); ok && rt == resourceType {
		return &NotAuthorizedError{ResourceType: resourceType, Name: name, Operations: operations, Err: err}
	}
	return err
}

// Needs is what a client needs, by resource type: the resource's name and
// the operations on it. A service lists what it uses, and Explain turns a
// refusal into the ACL that is missing.
type Needs map[string]Need

// Need is a resource and the operations a service performs on it.
type Need struct {
	Name       string
	Operations []string
}

// Explain returns err as a *NotAuthorizedError for the resource of its
// type in n when err is an authorization failure, and err unchanged
// otherwise (also when n has no resource of that type).
func (n Needs) Explain(err error) error {
	rt, ok := AuthorizationResource(err)
	if !ok {
		return err
	}
	need, ok := n[rt]
	if !ok {
		return err
	}
	return NotAuthorized(err, rt, need.Name, need.Operations...)
}
