package security

import (
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func TestBindings(t *testing.T) {
	binding := func(rt kafka.ResourceType, name string, p kafka.ResourcePatternType, op kafka.ACLOperation) kafka.ACLBinding {
		return kafka.ACLBinding{Type: rt, Name: name, ResourcePatternType: p, Principal: "User:ks-computer", Host: "*",
			Operation: op, PermissionType: kafka.ACLPermissionTypeAllow}
	}
	for _, tc := range []struct {
		name    string
		acls    string
		want    kafka.ACLBindings
		wantErr string
	}{
		{name: "topic, one binding per operation", acls: `
- resource: {type: topic, name: compute, patternType: literal}
  operations: [Read, Describe]
  host: "*"`,
			want: kafka.ACLBindings{binding(kafka.ResourceTopic, "compute", kafka.ResourcePatternTypeLiteral, kafka.ACLOperationRead),
				binding(kafka.ResourceTopic, "compute", kafka.ResourcePatternTypeLiteral, kafka.ACLOperationDescribe)}},
		{name: "prefixed transactional id", acls: `
- resource: {type: transactionalId, name: computer-, patternType: prefix}
  operations: [Write]`,
			want: kafka.ACLBindings{binding(ResourceTransactionalID, "computer-", kafka.ResourcePatternTypePrefixed, kafka.ACLOperationWrite)}},
		{name: "group, pattern type defaults to literal", acls: `
- resource: {type: group, name: computer}
  operations: [Read]`,
			want: kafka.ACLBindings{binding(kafka.ResourceGroup, "computer", kafka.ResourcePatternTypeLiteral, kafka.ACLOperationRead)}},
		{name: "cluster, IdempotentWrite", acls: `
- resource: {type: cluster}
  operations: [IdempotentWrite]`,
			want: kafka.ACLBindings{binding(kafka.ResourceBroker, "kafka-cluster", kafka.ResourcePatternTypeLiteral, kafka.ACLOperationIdempotentWrite)}},
		{name: "deny", acls: `
- resource: {type: topic, name: results}
  type: deny
  operations: [Write]`,
			want: kafka.ACLBindings{func() kafka.ACLBinding {
				b := binding(kafka.ResourceTopic, "results", kafka.ResourcePatternTypeLiteral, kafka.ACLOperationWrite)
				b.PermissionType = kafka.ACLPermissionTypeDeny
				return b
			}()}},
		{name: "unknown resource type", acls: `
- resource: {type: delegationToken, name: x}
  operations: [Describe]`,
			wantErr: `ks-computer: acl 0: resource type "delegationToken": want topic, group, transactionalId or cluster`},
		{name: "unknown pattern type", acls: `
- resource: {type: topic, name: x, patternType: regex}
  operations: [Read]`,
			wantErr: `ks-computer: acl 0: patternType "regex": want literal or prefix`},
		{name: "unknown operation", acls: `
- resource: {type: topic, name: x}
  operations: [Read, Fly]`,
			wantErr: `ks-computer: acl 0: operation "Fly"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var u KafkaUser
			u.Metadata.Name = "ks-computer"
			require.NoError(t, yaml.UnmarshalStrict([]byte(tc.acls), &u.Spec.Authorization.ACLs))
			got, err := Bindings(u)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
