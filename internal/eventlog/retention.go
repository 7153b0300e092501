package eventlog

import "fmt"

// Retention rule event types. Rules change no view table: the registry
// folds them from the log (internal/registry), so they need no migration.
const (
	TypeRetentionRuleAdded   = "retention.rule.added.v1"
	TypeRetentionRuleRemoved = "retention.rule.removed.v1"
)

// RetentionRuleAdded adds a retention policy rule: artifacts whose name
// matches Pattern (a glob: '*' any characters, '/' included; '?' one) expire
// ExpireAfterSeconds after creation, except the KeepLast newest versions of
// each name. A rule with only KeepLast keeps the newest KeepLast versions
// and expires the rest at once. The event's subject is "rule:" + ID.
type RetentionRuleAdded struct {
	ID                 string `json:"id"`
	Pattern            string `json:"pattern"`
	ExpireAfterSeconds int64  `json:"expire_after_seconds,omitempty"`
	KeepLast           int    `json:"keep_last,omitempty"`
}

// EventType implements Payload.
func (RetentionRuleAdded) EventType() string { return TypeRetentionRuleAdded }

func (p *RetentionRuleAdded) validate() error {
	switch {
	case p.ID == "" || p.Pattern == "":
		return fmt.Errorf("id and pattern are required")
	case p.ExpireAfterSeconds < 0 || p.KeepLast < 0:
		return fmt.Errorf("expire_after_seconds and keep_last must not be negative")
	case p.ExpireAfterSeconds == 0 && p.KeepLast == 0:
		return fmt.Errorf("a rule needs expire_after_seconds or keep_last")
	}
	return nil
}

// RetentionRuleRemoved removes a retention policy rule.
type RetentionRuleRemoved struct {
	ID string `json:"id"`
}

// EventType implements Payload.
func (RetentionRuleRemoved) EventType() string { return TypeRetentionRuleRemoved }

func (p *RetentionRuleRemoved) validate() error {
	if p.ID == "" {
		return fmt.Errorf("id is required")
	}
	return nil
}
