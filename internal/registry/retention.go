package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/textfmt"
)

// maxPatternLen bounds a retention rule's name pattern.
const maxPatternLen = MaxNameLen

// Rule is a retention policy rule: live artifacts whose name matches
// Pattern expire ExpireAfter after their creation, except the KeepLast
// newest versions of each name. With ExpireAfter zero, every version but
// the KeepLast newest is due at once.
type Rule struct {
	ID          string        `json:"id"`
	Pattern     string        `json:"pattern"`
	ExpireAfter time.Duration `json:"expire_after"`
	KeepLast    int           `json:"keep_last"`
	Added       time.Time     `json:"added"`
	By          string        `json:"by"`
}

// String describes the rule for reasons and listings.
func (r Rule) String() string {
	var parts []string
	if r.ExpireAfter > 0 {
		parts = append(parts, "expire-after "+FormatDuration(r.ExpireAfter))
	}
	if r.KeepLast > 0 {
		parts = append(parts, "keep-last "+strconv.Itoa(r.KeepLast))
	}
	return fmt.Sprintf("rule %s (%s: %s)", r.ID, r.Pattern, strings.Join(parts, ", "))
}

// FormatDuration renders d in days when it is a whole number of days
// ("90d"), else as Go does ("36h0m0s").
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// ParseDuration reads a retention duration: a whole number of days ("90d"),
// weeks ("2w") or a Go duration ("36h"). It must be positive.
func ParseDuration(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err = wholeUnits(n, 24*time.Hour)
	} else if n, ok := strings.CutSuffix(s, "w"); ok {
		d, err = wholeUnits(n, 7*24*time.Hour)
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: duration %q: want a positive number of days (90d), weeks (2w) or a duration (36h)", ErrInvalid, textfmt.Clip(s, 80))
	}
	return d, nil
}

func wholeUnits(n string, unit time.Duration) (time.Duration, error) {
	v, err := strconv.ParseInt(n, 10, 64)
	if err != nil || v <= 0 || v > int64(1<<62/unit) {
		return 0, errors.New("out of range")
	}
	return time.Duration(v) * unit, nil
}

// validatePattern checks a rule's name pattern with the grammar List's
// NameGlob takes.
func validatePattern(p string) error {
	if p == "" || len(p) > maxPatternLen {
		return fmt.Errorf("%w: name pattern must be 1 to %d bytes", ErrInvalid, maxPatternLen)
	}
	_, err := globToLike(p)
	return err
}

// matchGlob reports whether name matches glob ('*' any run of characters,
// '/' included; '?' one character), as List's NameGlob does.
func matchGlob(glob, name string) bool {
	// Iterative wildcard matching with backtracking to the last '*'.
	g, n, star, mark := 0, 0, -1, 0
	for n < len(name) {
		switch {
		case g < len(glob) && (glob[g] == '?' || glob[g] == name[n]):
			g++
			n++
		case g < len(glob) && glob[g] == '*':
			star, mark = g, n
			g++
		case star >= 0:
			g, mark = star+1, mark+1
			n = mark
		default:
			return false
		}
	}
	for g < len(glob) && glob[g] == '*' {
		g++
	}
	return g == len(glob)
}

// AddRule records a retention rule and returns it.
func (r *Registry) AddRule(ctx context.Context, actor, pattern string, expireAfter time.Duration, keepLast int) (Rule, error) {
	if err := validatePattern(pattern); err != nil {
		return Rule{}, fmt.Errorf("add retention rule: %w", err)
	}
	switch {
	case expireAfter < 0 || keepLast < 0:
		return Rule{}, fmt.Errorf("add retention rule: %w: expire-after and keep-last must not be negative", ErrInvalid)
	case expireAfter == 0 && keepLast == 0:
		return Rule{}, fmt.Errorf("add retention rule: %w: give an expiry (expire-after), a number of versions to keep (keep-last), or both", ErrInvalid)
	case expireAfter%time.Second != 0:
		return Rule{}, fmt.Errorf("add retention rule: %w: expire-after must be a whole number of seconds", ErrInvalid)
	}
	now := r.now()
	rule := Rule{ID: ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String(), Pattern: pattern,
		ExpireAfter: expireAfter, KeepLast: keepLast, Added: now.UTC(), By: actor}
	evs, err := r.events(actor, now, ruleSubjects+rule.ID, &eventlog.RetentionRuleAdded{ID: rule.ID, Pattern: pattern,
		ExpireAfterSeconds: int64(expireAfter / time.Second), KeepLast: keepLast})
	if err == nil {
		_, err = r.log.Append(ctx, evs)
	}
	if err != nil {
		return Rule{}, fmt.Errorf("add retention rule: %w", err)
	}
	return rule, nil
}

// RemoveRule removes a retention rule (ErrNotFound if there is none with
// the ID) and returns it. Two concurrent removals of one rule may both
// append; the second is a no-op when rules are folded.
func (r *Registry) RemoveRule(ctx context.Context, actor, id string) (Rule, error) {
	rules, err := r.Rules(ctx)
	if err != nil {
		return Rule{}, fmt.Errorf("remove retention rule: %w", err)
	}
	i := slices.IndexFunc(rules, func(x Rule) bool { return x.ID == id })
	if i < 0 {
		return Rule{}, fmt.Errorf("remove retention rule: no rule %q (artstore retention rule ls lists them): %w", textfmt.Clip(id, 80), ErrNotFound)
	}
	evs, err := r.events(actor, r.now(), ruleSubjects+id, &eventlog.RetentionRuleRemoved{ID: id})
	if err == nil {
		_, err = r.log.Append(ctx, evs)
	}
	if err != nil {
		return Rule{}, fmt.Errorf("remove retention rule: %w", err)
	}
	return rules[i], nil
}

// ruleCache holds the retention rules folded from the log up to seq, so
// each call reads only the rule events appended since the last one.
type ruleCache struct {
	mu    sync.Mutex
	seq   int64
	rules []Rule
}

// ruleSubjects is the prefix of the subjects of rule events: "rule:" + ID.
const ruleSubjects = "rule:"

// Rules returns the retention rules in force, oldest first. They are folded
// from the log's rule events, read through the index by subject (so a
// call costs what the rule events cost, not the log's length); the fold is
// cached and extended with the rule events appended since the previous
// call.
func (r *Registry) Rules(ctx context.Context) ([]Rule, error) {
	c := &r.rules
	c.mu.Lock()
	defer c.mu.Unlock()
	head, err := r.log.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("read retention rules: %w", err)
	}
	rules := slices.Clone(c.rules)
	err = r.log.ReadSubjectPrefix(ctx, ruleSubjects, c.seq, head.Seq, func(ev eventlog.Event) error {
		switch ev.Type {
		case eventlog.TypeRetentionRuleAdded:
			var p eventlog.RetentionRuleAdded
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				return fmt.Errorf("event %d: %w", ev.Seq, err)
			}
			rules = append(rules, Rule{ID: p.ID, Pattern: p.Pattern, ExpireAfter: time.Duration(p.ExpireAfterSeconds) * time.Second,
				KeepLast: p.KeepLast, Added: ev.Time, By: ev.Actor})
		case eventlog.TypeRetentionRuleRemoved:
			var p eventlog.RetentionRuleRemoved
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				return fmt.Errorf("event %d: %w", ev.Seq, err)
			}
			rules = slices.DeleteFunc(rules, func(x Rule) bool { return x.ID == p.ID })
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read retention rules: %w", err)
	}
	c.seq, c.rules = head.Seq, rules
	return slices.Clone(rules), nil
}

// Expiry is one artifact retention deletes (or, in a plan, would delete),
// and why.
type Expiry struct {
	Artifact Artifact `json:"artifact"`
	// Rule is the ID of the rule that expired it; "" when its own
	// expires_at did.
	Rule string `json:"rule,omitempty"`
	// Deadline is when it became due.
	Deadline time.Time `json:"deadline"`
	// Reason says which rule or setting and which deadline, as recorded
	// in the deletion event.
	Reason string `json:"reason"`
	// Deleted is set by ApplyRetention when the deletion was appended.
	Deleted bool `json:"deleted"`
	// Skipped says why ApplyRetention did not delete it after all (a hold
	// or immutability placed, or a retention change, meanwhile).
	Skipped string `json:"skipped,omitempty"`
}

// Verdict is the retention explanation of one artifact.
type Verdict struct {
	Artifact Artifact `json:"artifact"`
	// Due: retention would delete it now.
	Due bool `json:"due"`
	// Lines explain each consideration, in the order they are weighed.
	Lines []string `json:"lines"`
}

// candidate is an artifact found due, before protections are weighed.
type candidate struct {
	a    Artifact
	rule *Rule
	dl   time.Time
}

// PlanRetention returns what ApplyRetention would delete now: live
// artifacts past their own expires_at or expired by a rule, without a hold
// and not immutable. Each appears once, with the first cause found (its own
// expiry, then the rules oldest first).
func (r *Registry) PlanRetention(ctx context.Context) ([]Expiry, error) {
	now := r.now()
	rules, err := r.Rules(ctx)
	if err != nil {
		return nil, err
	}
	var out []Expiry
	seen := map[string]bool{}
	add := func(c candidate) {
		if seen[c.a.ID] || protected(c.a, now) != "" {
			return
		}
		seen[c.a.ID] = true
		out = append(out, Expiry{Artifact: c.a, Rule: ruleID(c.rule), Deadline: c.dl, Reason: reason(c, now)})
	}
	err = r.each(ctx, eventlog.Query{ExpiresBefore: now.Add(time.Nanosecond)}, func(a Artifact) error {
		add(candidate{a: a, dl: a.Retention.ExpiresAt})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("plan retention: %w", err)
	}
	for i := range rules {
		cs, err := r.ruleCandidates(ctx, &rules[i], now)
		if err != nil {
			return nil, fmt.Errorf("plan retention: %s: %w", rules[i], err)
		}
		for _, c := range cs {
			add(c)
		}
	}
	return out, nil
}

func ruleID(r *Rule) string {
	if r == nil {
		return ""
	}
	return r.ID
}

func reason(c candidate, now time.Time) string {
	if c.rule == nil {
		return fmt.Sprintf("retention: expires_at %s passed", c.dl.UTC().Format(time.RFC3339))
	}
	if c.rule.ExpireAfter == 0 {
		return fmt.Sprintf("retention: %s: not among the %d newest versions of %s", c.rule, c.rule.KeepLast, c.a.Name)
	}
	return fmt.Sprintf("retention: %s: created %s, expired %s", c.rule, c.a.Created.UTC().Format(time.RFC3339), c.dl.UTC().Format(time.RFC3339))
}

// protected says what keeps a from being deleted now ("" if nothing).
func protected(a Artifact, now time.Time) string {
	if len(a.Holds) > 0 {
		return fmt.Sprintf("legal hold %q is placed", a.Holds[0].Name)
	}
	if u := a.Retention.ImmutableUntil; u.After(now) {
		return "immutable until " + u.UTC().Format(time.RFC3339)
	}
	return ""
}

// each calls fn for every live artifact q selects (q's cursor and limit are
// managed here).
func (r *Registry) each(ctx context.Context, q eventlog.Query, fn func(Artifact) error) error {
	return eachIn(ctx, r.log, q, fn)
}

func eachIn(ctx context.Context, v eventlog.Views, q eventlog.Query, fn func(Artifact) error) error {
	q.Limit, q.Cursor = 1000, 0
	for {
		p, err := v.Query(ctx, q)
		if err != nil {
			return err
		}
		for _, a := range p.Artifacts {
			if err := fn(a); err != nil {
				return err
			}
		}
		if p.Next == 0 {
			return nil
		}
		q.Cursor = p.Next
	}
}

// ruleCandidates returns the live artifacts rule expires at now.
func (r *Registry) ruleCandidates(ctx context.Context, rule *Rule, now time.Time) ([]candidate, error) {
	like, err := globToLike(rule.Pattern)
	if err != nil {
		return nil, err
	}
	byName := map[string][]Artifact{}
	var names []string
	err = r.each(ctx, eventlog.Query{NameLike: like, Newest: true}, func(a Artifact) error {
		if byName[a.Name] == nil {
			names = append(names, a.Name)
		}
		byName[a.Name] = append(byName[a.Name], a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []candidate
	for _, n := range names {
		vs := byName[n] // newest first
		for _, a := range vs[min(rule.KeepLast, len(vs)):] {
			dl := a.Created.Add(rule.ExpireAfter)
			if !dl.After(now) {
				out = append(out, candidate{a: a, rule: rule, dl: dl})
			}
		}
	}
	return out, nil
}

// ApplyRetention deletes what PlanRetention returns, each deletion an
// artifact.deleted event whose reason names the rule or setting and the
// deadline. Each deletion re-checks, inside its append transaction, that
// the artifact is still due and unprotected; one that is not is reported
// with Skipped set.
func (r *Registry) ApplyRetention(ctx context.Context, actor string) ([]Expiry, error) {
	plan, err := r.PlanRetention(ctx)
	if err != nil {
		return nil, err
	}
	rules, err := r.Rules(ctx)
	if err != nil {
		return nil, err
	}
	for i := range plan {
		e := &plan[i]
		var rule *Rule
		if e.Rule != "" {
			j := slices.IndexFunc(rules, func(x Rule) bool { return x.ID == e.Rule })
			rule = &rules[j]
		}
		_, err := r.change(ctx, "expire", actor, e.Artifact.ID, func(ctx context.Context, v eventlog.Views, a Artifact) ([]eventlog.Payload, error) {
			now := r.now()
			if why := protected(a, now); why != "" {
				return nil, fmt.Errorf("%w: %s", ErrForbiddenByRetention, why)
			}
			if rule == nil {
				if a.Retention.ExpiresAt.IsZero() || a.Retention.ExpiresAt.After(now) {
					return nil, fmt.Errorf("%w: its expiry changed meanwhile", errNoLongerDue)
				}
			} else if keep, err := amongNewest(ctx, v, a, rule.KeepLast); err != nil {
				return nil, err
			} else if keep {
				return nil, fmt.Errorf("%w: it is now among the %d newest versions", errNoLongerDue, rule.KeepLast)
			}
			return []eventlog.Payload{&eventlog.ArtifactDeleted{ArtifactID: a.ID, Reason: e.Reason}}, nil
		})
		switch {
		case err == nil:
			e.Deleted = true
		case errors.Is(err, ErrForbiddenByRetention), errors.Is(err, errNoLongerDue), errors.Is(err, ErrNotFound):
			e.Skipped = err.Error()
		default:
			return plan, fmt.Errorf("apply retention: %w", err)
		}
	}
	return plan, nil
}

// errNoLongerDue: an artifact planned for expiry was not due any more when
// its deletion ran.
var errNoLongerDue = errors.New("no longer due")

// amongNewest reports whether a is among the n newest live versions of its
// name.
func amongNewest(ctx context.Context, v eventlog.Views, a Artifact, n int) (bool, error) {
	if n == 0 {
		return false, nil
	}
	p, err := v.Query(ctx, eventlog.Query{Name: a.Name, Newest: true, Limit: n})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(p.Artifacts, func(x Artifact) bool { return x.ID == a.ID }), nil
}

// ExplainRetention says, for the live artifact ref names, what retention
// considers and whether it is due now.
func (r *Registry) ExplainRetention(ctx context.Context, ref string) (Verdict, error) {
	a, err := resolve(ctx, r.log, ref, false)
	if err != nil {
		return Verdict{}, fmt.Errorf("explain retention of %s: %w", ref, err)
	}
	now := r.now()
	rules, err := r.Rules(ctx)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Artifact: a, Lines: []string{}}
	due := false
	if e := a.Retention.ExpiresAt; e.IsZero() {
		v.Lines = append(v.Lines, "no expires_at of its own")
	} else if e.After(now) {
		v.Lines = append(v.Lines, "expires_at "+e.UTC().Format(time.RFC3339)+": not yet")
	} else {
		v.Lines = append(v.Lines, "expires_at "+e.UTC().Format(time.RFC3339)+": passed")
		due = true
	}
	matched := false
	for i := range rules {
		rule := &rules[i]
		if !matchGlob(rule.Pattern, a.Name) {
			continue
		}
		matched = true
		if keep, err := amongNewest(ctx, r.log, a, rule.KeepLast); err != nil {
			return Verdict{}, err
		} else if keep {
			v.Lines = append(v.Lines, fmt.Sprintf("%s: kept as one of the %d newest versions", rule, rule.KeepLast))
			continue
		}
		dl := a.Created.Add(rule.ExpireAfter)
		if dl.After(now) {
			v.Lines = append(v.Lines, fmt.Sprintf("%s: expires %s: not yet", rule, dl.UTC().Format(time.RFC3339)))
			continue
		}
		v.Lines = append(v.Lines, reason(candidate{a: a, rule: rule, dl: dl}, now)[len("retention: "):])
		due = true
	}
	if !matched {
		v.Lines = append(v.Lines, "no retention rule matches "+a.Name)
	}
	if why := protected(a, now); why != "" {
		v.Lines = append(v.Lines, why+": never deleted while it lasts")
		due = false
	}
	v.Due = due
	if due {
		v.Lines = append(v.Lines, "due: retention apply deletes it")
	} else {
		v.Lines = append(v.Lines, "not due: retention apply keeps it")
	}
	return v, nil
}
