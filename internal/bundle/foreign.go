package bundle

import (
	"errors"
	"fmt"
	"strings"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/tlog"
)

// ErrForeign: the evidence an import kept from another store does not
// verify: its bytes differ from what the other store signed.
var ErrForeign = errors.New("foreign evidence does not verify")

// Foreign is the evidence an import record holds, checked.
type Foreign struct {
	Checkpoint   tlog.Checkpoint
	Registration eventlog.Event
	Registered   *eventlog.ArtifactRegistered
}

// ImportRecord returns the import record of artifact a of a verified
// bundle's report: the other store's evidence about it, kept as it was.
func ImportRecord(rep *Report, a *ArtifactReport, keyGiven bool) *eventlog.ArtifactImported {
	p := &eventlog.ArtifactImported{
		Origin: rep.Origin, Key: rep.Key, KeyGiven: keyGiven, Checkpoint: string(rep.Checkpoint), ForeignID: a.ID,
	}
	for _, e := range a.Proved {
		fe := eventlog.ForeignEvent{Seq: e.Seq, Prev: e.Prev, Body: string(e.Body), Proof: make([]string, len(e.Proof))}
		for i, h := range e.Proof {
			fe.Proof[i] = h.String()
		}
		p.Events = append(p.Events, fe)
	}
	return p
}

// VerifyForeign checks an import record again, as verify-bundle checked
// the bundle it came from: the checkpoint's signature with the recorded
// key, and each event's hash and inclusion proof in it; the first event
// must register the recorded foreign artifact. Errors match ErrForeign.
func VerifyForeign(p *eventlog.ArtifactImported) (Foreign, error) {
	cp, err := tlog.OpenCheckpoint([]byte(p.Checkpoint), p.Key)
	if err != nil {
		return Foreign{}, fmt.Errorf("%w: checkpoint: %v", ErrForeign, err)
	}
	if cp.Origin != p.Origin {
		return Foreign{}, fmt.Errorf("%w: the checkpoint is of %s, not %s", ErrForeign, cp.Origin, p.Origin)
	}
	var f Foreign
	f.Checkpoint = cp
	for i, fe := range p.Events {
		if !validPrev(fe.Seq, fe.Prev) {
			return Foreign{}, fmt.Errorf("%w: event %d: bad prev hash", ErrForeign, fe.Seq)
		}
		var text strings.Builder
		for _, h := range fe.Proof {
			text.WriteString(h + "\n")
		}
		proof, err := tlog.ParseProof([]byte(text.String()))
		if err != nil || len(proof) != len(fe.Proof) {
			return Foreign{}, fmt.Errorf("%w: event %d: malformed proof: %v", ErrForeign, fe.Seq, err)
		}
		hash := eventlog.Hash(fe.Prev, []byte(fe.Body))
		if err := tlog.VerifyInclusion(hash, fe.Seq-1, cp.Head, proof); err != nil {
			return Foreign{}, fmt.Errorf("%w: event %d is not proved in the checkpoint of %d events: %v", ErrForeign, fe.Seq, cp.Size, err)
		}
		if i > 0 {
			continue
		}
		e, err := eventlog.DecodeStored(fe.Seq, []byte(fe.Body), fe.Prev, hash)
		if err != nil {
			return Foreign{}, fmt.Errorf("%w: %v", ErrForeign, err)
		}
		pl, err := eventlog.DefaultTypes().Decode(e.Type, e.Payload)
		reg, ok := pl.(*eventlog.ArtifactRegistered)
		if err != nil || !ok || reg.ID != p.ForeignID || e.Seq != fe.Seq {
			return Foreign{}, fmt.Errorf("%w: the first event is not the registration of %s", ErrForeign, p.ForeignID)
		}
		f.Registration, f.Registered = e, reg
	}
	if f.Registered == nil {
		return Foreign{}, fmt.Errorf("%w: no registration event", ErrForeign)
	}
	return f, nil
}
