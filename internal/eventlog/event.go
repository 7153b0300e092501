// Package eventlog is artstore's source of truth: an append-only, hash-chained
// log of events, and the Store interface its SQL implementations satisfy.
//
// # Encoding
//
// Each event is encoded once, when it is appended, into its body: the
// compact JSON object
//
//	{"v":1,"seq":N,"time":"<RFC 3339, nanoseconds, UTC>","actor":"...","type":"...","subject":"...","payload":{...}}
//
// with the members in exactly that order. The stores keep those bytes as they
// are. An event's hash is the lowercase hex SHA-256 of the previous event's
// hash (its 64 ASCII hex characters; nothing for seq 1) followed by the body
// bytes:
//
//	hash(N) = hex(sha256(hash(N-1) || body(N)))
//
// so a log can be checked offline with sha256sum. Verification recomputes
// hashes from the stored bytes and never re-encodes an event.
//
// # Types
//
// Event type names carry a version suffix ("artifact.registered.v1"). A
// type's payload shape never changes once released; a new shape is a new
// type name, and the decoder of an old name upcasts its payload to the
// current Go struct, so an old log always replays (see Types).
package eventlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/artifact-store/artstore/internal/textfmt"
)

// EncodingVersion is the "v" member of every body this package writes.
const EncodingVersion = 1

// Limits on event header fields, checked at append.
const (
	maxActorLen   = 256
	maxSubjectLen = 256
	maxTypeLen    = 128
)

// Errors callers branch on; use errors.Is.
var (
	// ErrInvalidEvent: a NewEvent is malformed (empty actor, bad type name,
	// payload not a JSON object, payload that does not decode for its type).
	ErrInvalidEvent = errors.New("invalid event")
	// ErrInvalidQuery: a Query has an invalid field (limit too large).
	ErrInvalidQuery = errors.New("invalid query")
	// ErrUnknownType: no decoder is known for an event type. Projection fails
	// loudly with it: the log was probably written by a newer artstore.
	ErrUnknownType = errors.New("unknown event type")
	// ErrTampered: the hash chain does not verify (see VerifyReport).
	ErrTampered = errors.New("event log integrity check failed")
	// ErrNotFound: a view has no row for the requested key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: an append would violate a uniqueness rule of the views
	// (a second artifact with the same name and version, a hold placed twice).
	ErrConflict = errors.New("conflict")
	// ErrProjection: an event does not apply to the current views (it names
	// an artifact that does not exist or is deleted, releases a hold that
	// is not placed, ...). The append is rolled back.
	ErrProjection = errors.New("event does not apply to the views")
	// ErrAppendOnly: the database refused to update or delete an event.
	ErrAppendOnly = errors.New("the event log is append-only")
	// ErrBusy: the database stayed locked by another writer past its
	// timeout, or a serialisation failure persisted; retrying may succeed.
	ErrBusy = errors.New("event log busy")
	// ErrUnavailable: the connection to the database was lost or refused
	// (a server restart or shutdown, a network failure). Whether a write
	// in flight committed is unknown; a read may be retried.
	ErrUnavailable = errors.New("event log unavailable")
)

// NewEvent is an event before it is appended: the store assigns its seq,
// prev and hash (and its time when Time is zero).
type NewEvent struct {
	// Time of the event; zero means the store's clock at append. It is
	// stored in UTC.
	Time time.Time
	// Actor is who caused the event (user, token name, "system").
	Actor string
	// Type is the versioned event type, e.g. TypeArtifactRegistered.
	Type string
	// Subject is the entity the event is about, usually an artifact ID.
	Subject string
	// Payload is the type's JSON object.
	Payload json.RawMessage
}

// New builds a NewEvent from a typed payload, taking the type name from it.
func New(actor, subject string, p Payload) (NewEvent, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return NewEvent{}, fmt.Errorf("encode %s payload: %w", p.EventType(), err)
	}
	return NewEvent{Actor: actor, Type: p.EventType(), Subject: subject, Payload: raw}, nil
}

// Event is an appended event.
type Event struct {
	Seq     int64           `json:"seq"`
	Time    time.Time       `json:"time"`
	Actor   string          `json:"actor"`
	Type    string          `json:"type"`
	Subject string          `json:"subject"`
	Payload json.RawMessage `json:"payload"`
	// Prev is the hash of event Seq-1, "" for seq 1.
	Prev string `json:"prev"`
	// Hash is hex(sha256(Prev || Body)).
	Hash string `json:"hash"`
	// Body is the exact stored encoding the hash covers.
	Body []byte `json:"body"`
}

// body is the encoded form; member order is the encoding's order.
type body struct {
	V       int             `json:"v"`
	Seq     int64           `json:"seq"`
	Time    string          `json:"time"`
	Actor   string          `json:"actor"`
	Type    string          `json:"type"`
	Subject string          `json:"subject"`
	Payload json.RawMessage `json:"payload"`
}

// Hash returns hex(sha256(prev || body)), the chain hash of an event.
func Hash(prev string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Seal validates ne and encodes it as event seq following an event whose
// hash is prev. now is used when ne.Time is zero. Stores call it once per
// event inside their append transaction.
func Seal(seq int64, prev string, ne NewEvent, now time.Time) (Event, error) {
	if err := ne.validate(); err != nil {
		return Event{}, err
	}
	t := ne.Time
	if t.IsZero() {
		t = now
	}
	t = t.UTC().Round(0)
	// The body is built by hand so the payload bytes go in exactly as
	// compacted here, and Event.Payload is a slice of the body.
	b := make([]byte, 0, 160+len(ne.Payload))
	b = fmt.Appendf(b, `{"v":%d,"seq":%d,"time":"%s","actor":`, EncodingVersion, seq, t.Format(time.RFC3339Nano))
	b = appendJSONString(b, ne.Actor)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, ne.Type)
	b = append(b, `,"subject":`...)
	b = appendJSONString(b, ne.Subject)
	b = append(b, `,"payload":`...)
	start := len(b)
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, ne.Payload); err != nil {
		return Event{}, fmt.Errorf("%w: %s payload is not valid JSON: %v", ErrInvalidEvent, ne.Type, err)
	}
	b = append(buf.Bytes(), '}')
	return Event{
		Seq: seq, Time: t, Actor: ne.Actor, Type: ne.Type, Subject: ne.Subject,
		Payload: json.RawMessage(b[start : len(b)-1]), Prev: prev, Hash: Hash(prev, b), Body: b,
	}, nil
}

// appendJSONString appends s as json.Marshal encodes it. Printable ASCII
// that json.Marshal does not escape (it escapes " \ < > &) is copied as it
// is; anything else goes through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func (ne NewEvent) validate() error {
	switch {
	case ne.Actor == "":
		return fmt.Errorf("%w: empty actor", ErrInvalidEvent)
	case !textfmt.Printable(ne.Actor, maxActorLen):
		return fmt.Errorf("%w: actor %q must be printable UTF-8 of at most %d bytes", ErrInvalidEvent, textfmt.Clip(ne.Actor, 80), maxActorLen)
	case !validTypeName(ne.Type):
		return fmt.Errorf("%w: type %q must look like noun.verb.vN ([a-z0-9._] at most %d bytes)", ErrInvalidEvent, textfmt.Clip(ne.Type, 80), maxTypeLen)
	case !textfmt.Printable(ne.Subject, maxSubjectLen):
		return fmt.Errorf("%w: subject %q must be printable UTF-8 of at most %d bytes", ErrInvalidEvent, textfmt.Clip(ne.Subject, 80), maxSubjectLen)
	}
	p := bytes.TrimSpace(ne.Payload)
	if len(p) == 0 || p[0] != '{' {
		return fmt.Errorf("%w: %s payload must be a JSON object", ErrInvalidEvent, ne.Type)
	}
	return nil
}

// DecodeStored rebuilds an Event from its stored columns, taking every field
// except prev and hash from the body. It does not verify the hash.
func DecodeStored(seq int64, b []byte, prev, hash string) (Event, error) {
	return decodeBody(seq, b, prev, hash)
}

func decodeBody(seq int64, b []byte, prev, hash string) (Event, error) {
	bd, ok := decodeCanonical(b)
	if !ok {
		if err := json.Unmarshal(b, &bd); err != nil {
			return Event{}, fmt.Errorf("event %d: body is not valid JSON: %w", seq, err)
		}
	}
	if bd.V != EncodingVersion {
		return Event{}, fmt.Errorf("event %d: unsupported encoding version %d (this artstore reads version %d)", seq, bd.V, EncodingVersion)
	}
	t, err := time.Parse(time.RFC3339Nano, bd.Time)
	if err != nil {
		return Event{}, fmt.Errorf("event %d: bad time %q: %w", seq, textfmt.Clip(bd.Time, 80), err)
	}
	return Event{
		Seq: bd.Seq, Time: t.UTC(), Actor: bd.Actor, Type: bd.Type, Subject: bd.Subject,
		Payload: bd.Payload, Prev: prev, Hash: hash, Body: b,
	}, nil
}

// decodeCanonical decodes a body in the exact form Seal writes (members in
// order, no whitespace, strings without escapes) much faster than
// json.Unmarshal, which Rebuild and Read would otherwise spend most of their
// decoding time in. Only the payload is scanned by the JSON package, to
// check it is one valid value. ok is false for any other form, valid or
// not: the caller then decodes with json.Unmarshal, whose result equals
// this one whenever ok is true.
func decodeCanonical(b []byte) (bd body, ok bool) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"v":`))
	if !ok {
		return bd, false
	}
	var v int64
	if v, rest, ok = cutUint(rest); !ok {
		return bd, false
	}
	bd.V = int(v)
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"seq":`)); !ok {
		return bd, false
	}
	if bd.Seq, rest, ok = cutUint(rest); !ok {
		return bd, false
	}
	for _, m := range []struct {
		key string
		dst *string
	}{{`,"time":`, &bd.Time}, {`,"actor":`, &bd.Actor}, {`,"type":`, &bd.Type}, {`,"subject":`, &bd.Subject}} {
		if rest, ok = bytes.CutPrefix(rest, []byte(m.key)); !ok {
			return bd, false
		}
		if *m.dst, rest, ok = cutPlainString(rest); !ok {
			return bd, false
		}
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"payload":`)); !ok {
		return bd, false
	}
	// The payload is the rest but the body's closing brace: one object.
	if len(rest) < 3 || rest[0] != '{' || rest[len(rest)-2] != '}' || rest[len(rest)-1] != '}' {
		return bd, false
	}
	p := rest[:len(rest)-1]
	if !json.Valid(p) {
		return bd, false
	}
	bd.Payload = p
	return bd, true
}

// cutUint parses the JSON number at the start of b when it is a plain
// non-negative integer (no sign, fraction, exponent or leading zero) of at
// most 18 digits.
func cutUint(b []byte) (int64, []byte, bool) {
	i := 0
	for i < len(b) && i <= 18 && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 0 || i > 18 || (b[0] == '0' && i > 1) || (i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E')) {
		return 0, b, false
	}
	var n int64
	for _, c := range b[:i] {
		n = n*10 + int64(c-'0')
	}
	return n, b[i:], true
}

// cutPlainString parses the JSON string at the start of b when it has no
// escapes and no control characters and is valid UTF-8: then its value is
// its bytes.
func cutPlainString(b []byte) (string, []byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", b, false
	}
	ascii := true
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s := b[1:i]
			if !ascii && !utf8.Valid(s) {
				return "", b, false
			}
			return string(s), b[i+1:], true
		case c == '\\' || c < 0x20:
			return "", b, false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", b, false
}

// StoredRow is an events row as a store reads it back, columns and body.
// Verifier checks the columns against the body so that editing a column
// alone is detected too.
type StoredRow struct {
	Seq     int64
	TimeNS  int64
	Actor   string
	Type    string
	Subject string
	Body    []byte
	Prev    string
	Hash    string
}

// Verifier checks a run of stored rows, in seq order, against the chain.
// Start it with NewVerifier and feed every row to Check.
type Verifier struct {
	next int64
	prev string
}

// NewVerifier returns a verifier expecting the row with seq next, whose prev
// must be prevHash (the stored hash of event next-1; "" when next is 1).
func NewVerifier(next int64, prevHash string) *Verifier {
	return &Verifier{next: next, prev: prevHash}
}

// Check verifies one row. It returns a *ChainError naming the first bad seq.
func (v *Verifier) Check(r StoredRow) error {
	fail := func(seq int64, format string, args ...any) error {
		return &ChainError{Seq: seq, Reason: fmt.Sprintf(format, args...)}
	}
	if r.Seq != v.next {
		if r.Seq > v.next {
			return fail(v.next, "event %d is missing (the next stored event is %d)", v.next, r.Seq)
		}
		return fail(r.Seq, "event %d is out of order (expected %d)", r.Seq, v.next)
	}
	if r.Prev != v.prev {
		return fail(r.Seq, "prev %q does not match the hash of event %d (%q)", textfmt.Clip(r.Prev, 80), r.Seq-1, textfmt.Clip(v.prev, 80))
	}
	if got := Hash(r.Prev, r.Body); got != r.Hash {
		return fail(r.Seq, "stored hash %q does not match sha256(prev || body) = %s", textfmt.Clip(r.Hash, 80), got)
	}
	ev, err := decodeBody(r.Seq, r.Body, r.Prev, r.Hash)
	if err != nil {
		return fail(r.Seq, "%v", err)
	}
	switch {
	case ev.Seq != r.Seq:
		return fail(r.Seq, "body says seq %d", ev.Seq)
	case ev.Time.UnixNano() != r.TimeNS:
		return fail(r.Seq, "time column %d does not match body time %s", r.TimeNS, ev.Time.Format(time.RFC3339Nano))
	case ev.Actor != r.Actor || ev.Type != r.Type || ev.Subject != r.Subject:
		return fail(r.Seq, "actor/type/subject columns do not match the body")
	}
	v.next++
	v.prev = r.Hash
	return nil
}

// ChainError describes the first event at which verification failed.
type ChainError struct {
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("%v at event %d: %s", ErrTampered, e.Seq, e.Reason)
}

// Unwrap makes a *ChainError match ErrTampered.
func (e *ChainError) Unwrap() error { return ErrTampered }

// VerifyReport is the outcome of Store.Verify.
type VerifyReport struct {
	// FromSeq is the first event checked.
	FromSeq int64 `json:"from_seq"`
	// Checked is how many events verified cleanly.
	Checked int64 `json:"checked"`
	// Head is the seq and hash of the last event present when the check
	// started.
	Head Head `json:"head"`
	// FirstBad is the first seq that failed, 0 when the chain verified.
	FirstBad int64 `json:"first_bad,omitempty"`
	// Reason says why FirstBad failed.
	Reason string `json:"reason,omitempty"`
}

// OK reports whether every checked event verified.
func (r VerifyReport) OK() bool { return r.FirstBad == 0 }

// Head is the position of the last event of a log.
type Head struct {
	// Seq is 0 for an empty log.
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func validTypeName(s string) bool {
	if s == "" || len(s) > maxTypeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '_' {
			return false
		}
	}
	return true
}
