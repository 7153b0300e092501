package registry

import (
	"fmt"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/textfmt"
)

// Grammar limits.
const (
	MaxNameLen       = 200
	MaxVersionLen    = 128
	MaxLabelKeyLen   = 128
	MaxLabelValueLen = 256
	maxTextLen       = 1024
	// MaxSelectors caps the label selectors of one listing. A person
	// narrows a listing with a handful; each selector is one more join
	// or index probe in the view query, so an unbounded number lets one
	// request hold a database backend busy for minutes.
	MaxSelectors = 16
)

// DefaultTag is the tag a bare name resolves through and that Register
// moves unless told not to.
const DefaultTag = "latest"

// nameGrammar says what an artifact name may be, for error messages.
const nameGrammar = "names may contain only a-z, 0-9, '.', '_' and '-', in segments joined by '/'"

// ValidateName checks an artifact name: segments of [a-z0-9._-] joined by
// '/', no empty, "." or ".." segment, at most MaxNameLen bytes.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty artifact name (%s)", ErrInvalid, nameGrammar)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: artifact name %q is longer than %d bytes (%s)", ErrInvalid, textfmt.Clip(name, 80), MaxNameLen, nameGrammar)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: artifact name %q has an empty, '.' or '..' segment (%s)", ErrInvalid, textfmt.Clip(name, 80), nameGrammar)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !isLowerAlnum(c) && c != '.' && c != '_' && c != '-' {
				return fmt.Errorf("%w: artifact name %q: %s", ErrInvalid, textfmt.Clip(name, 80), nameGrammar)
			}
		}
	}
	return nil
}

// ValidateVersion checks a version: [A-Za-z0-9._-], 1 to MaxVersionLen
// bytes, starting with a letter or digit.
func ValidateVersion(v string) error { return validateVersionLike("version", v) }

// ValidateTag checks a tag: the version grammar, but not all digits (those
// are reserved for automatic version numbers, which would shadow the tag).
func ValidateTag(tag string) error {
	if err := validateVersionLike("tag", tag); err != nil {
		return err
	}
	if strings.Trim(tag, "0123456789") == "" {
		return fmt.Errorf("%w: tag %q is all digits; such names are reserved for version numbers", ErrInvalid, tag)
	}
	return nil
}

func validateVersionLike(what, v string) error {
	if v == "" || len(v) > MaxVersionLen {
		return fmt.Errorf("%w: %s %q must be 1 to %d characters", ErrInvalid, what, textfmt.Clip(v, 80), MaxVersionLen)
	}
	if !isAlnum(v[0]) {
		return fmt.Errorf("%w: %s %q must start with a letter or digit", ErrInvalid, what, textfmt.Clip(v, 80))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("%w: %s %q may contain only A-Z, a-z, 0-9, '.', '_' and '-'", ErrInvalid, what, textfmt.Clip(v, 80))
		}
	}
	return nil
}

// ValidateLabel checks a label: key [A-Za-z0-9][A-Za-z0-9._/-]* of at most
// MaxLabelKeyLen bytes; value printable UTF-8 of at most MaxLabelValueLen.
func ValidateLabel(key, value string) error {
	if key == "" || len(key) > MaxLabelKeyLen || !isAlnum(key[0]) {
		return fmt.Errorf("%w: label key %q must be 1 to %d characters starting with a letter or digit", ErrInvalid, textfmt.Clip(key, 80), MaxLabelKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' && c != '/' {
			return fmt.Errorf("%w: label key %q may contain only A-Z, a-z, 0-9, '.', '_', '-' and '/'", ErrInvalid, textfmt.Clip(key, 80))
		}
	}
	if !textfmt.Printable(value, MaxLabelValueLen) {
		return fmt.Errorf("%w: value of label %q must be printable UTF-8 of at most %d bytes", ErrInvalid, key, MaxLabelValueLen)
	}
	return nil
}

// Ref is a parsed artifact reference. Exactly one form is set:
//
//	ID                      bare ULID, e.g. 01JD5Q7Z3N8X9W2Y4K6M1P0R3S
//	Name + Ident            name:ident, ident a version or else a tag;
//	                        a bare name means name:latest
//	Name + Digest           name@sha256:<hex>: the newest live version
//	                        of name with that content digest
type Ref struct {
	ID     string
	Name   string
	Ident  string
	Digest content.Digest
}

// ParseRef parses an artifact reference. IDs are upper-case ULIDs, and names
// are lower-case, so the two forms never overlap.
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("%w: empty artifact reference", ErrInvalid)
	}
	if len(s) == ulid.EncodedSize && isUpperAlnum(s) {
		id, err := ulid.ParseStrict(s)
		if err != nil {
			return Ref{}, fmt.Errorf("%w: %q is not a valid artifact ID: %v", ErrInvalid, s, err)
		}
		return Ref{ID: id.String()}, nil
	}
	if name, dg, ok := strings.Cut(s, "@"); ok {
		d, err := content.ParseDigest(dg)
		if err != nil {
			return Ref{}, fmt.Errorf("%w: reference %q: %v", ErrInvalid, textfmt.Clip(s, 80), err)
		}
		if err := ValidateName(name); err != nil {
			return Ref{}, fmt.Errorf("reference %q: %w", textfmt.Clip(s, 80), err)
		}
		return Ref{Name: name, Digest: d}, nil
	}
	name, ident, ok := strings.Cut(s, ":")
	if !ok {
		ident = DefaultTag
	}
	if err := ValidateName(name); err != nil {
		return Ref{}, fmt.Errorf("reference %q: %w (want name, name:version, name:tag, name@sha256:<hex> or an artifact ID)", textfmt.Clip(s, 80), err)
	}
	if err := validateVersionLike("version or tag", ident); err != nil {
		return Ref{}, fmt.Errorf("reference %q: %w", textfmt.Clip(s, 80), err)
	}
	return Ref{Name: name, Ident: ident}, nil
}

// String returns the reference in the form ParseRef reads.
func (r Ref) String() string {
	switch {
	case r.ID != "":
		return r.ID
	case !r.Digest.IsZero():
		return r.Name + "@" + r.Digest.String()
	default:
		return r.Name + ":" + r.Ident
	}
}

// ParseSelectors parses a comma-separated label selector list:
//
//	key=value   key==value   key!=value   key   !key
//
// (equals; not equal, which also matches artifacts without the key;
// exists; does not exist). Whitespace around items is ignored; an empty
// string is no selector. More than MaxSelectors items are ErrInvalid.
func ParseSelectors(s string) ([]eventlog.Selector, error) {
	var out []eventlog.Selector
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	if n := strings.Count(s, ",") + 1; n > MaxSelectors {
		return nil, fmt.Errorf("%w: %d label selectors; at most %d are allowed", ErrInvalid, n, MaxSelectors)
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		var sel eventlog.Selector
		switch {
		case strings.HasPrefix(item, "!") && !strings.Contains(item, "="):
			sel = eventlog.Selector{Key: strings.TrimSpace(item[1:]), Op: eventlog.OpNotExists}
		case strings.Contains(item, "!="):
			k, v, _ := strings.Cut(item, "!=")
			sel = eventlog.Selector{Key: strings.TrimSpace(k), Op: eventlog.OpNotEquals, Value: strings.TrimSpace(v)}
		case strings.Contains(item, "="):
			k, v, _ := strings.Cut(item, "=")
			v = strings.TrimPrefix(v, "=")
			sel = eventlog.Selector{Key: strings.TrimSpace(k), Op: eventlog.OpEquals, Value: strings.TrimSpace(v)}
		default:
			sel = eventlog.Selector{Key: item, Op: eventlog.OpExists}
		}
		if err := ValidateLabel(sel.Key, sel.Value); err != nil {
			return nil, fmt.Errorf("label selector %q: %w", textfmt.Clip(item, 80), err)
		}
		out = append(out, sel)
	}
	return out, nil
}

// ParseSelectorList parses the label selector strings of a listing (each
// one ParseSelectors reads; a CLI flag or query parameter may be repeated)
// into one list of at most MaxSelectors selectors, ErrInvalid beyond it.
// Local mode and the daemon both parse with it.
func ParseSelectorList(params []string) ([]eventlog.Selector, error) {
	var out []eventlog.Selector
	for _, p := range params {
		if n := strings.Count(p, ",") + 1; strings.TrimSpace(p) != "" && len(out)+n > MaxSelectors {
			return nil, fmt.Errorf("%w: %d or more label selectors; at most %d are allowed", ErrInvalid, len(out)+n, MaxSelectors)
		}
		sels, err := ParseSelectors(p)
		if err != nil {
			return nil, err
		}
		out = append(out, sels...)
	}
	return out, nil
}

// validateNamePrefix checks a listing's name prefix: the beginning of a
// name, so only name characters and at most MaxNameLen bytes.
func validateNamePrefix(p string) error {
	if len(p) > MaxNameLen {
		return fmt.Errorf("%w: name prefix %q is longer than %d bytes", ErrInvalid, textfmt.Clip(p, 80), MaxNameLen)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !isLowerAlnum(c) && c != '.' && c != '_' && c != '-' && c != '/' {
			return fmt.Errorf("%w: name prefix %q: %s", ErrInvalid, textfmt.Clip(p, 80), nameGrammar)
		}
	}
	return nil
}

// globToLike translates a name glob ('*' any run of characters, '/'
// included; '?' one character) into a LIKE pattern with '\' as escape.
func globToLike(glob string) (string, error) {
	if len(glob) > MaxNameLen {
		return "", fmt.Errorf("%w: name pattern %q is longer than %d bytes", ErrInvalid, textfmt.Clip(glob, 80), MaxNameLen)
	}
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case c == '*':
			b.WriteByte('%')
		case c == '?':
			b.WriteByte('_')
		case c == '_':
			b.WriteString(`\_`)
		case isLowerAlnum(c) || c == '.' || c == '-' || c == '/':
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("%w: name pattern %q may contain only name characters, '*' and '?'", ErrInvalid, textfmt.Clip(glob, 80))
		}
	}
	return b.String(), nil
}

func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }
func isAlnum(c byte) bool      { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z') }

func isUpperAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
