package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/pkg/client"
)

// TestDetailEveryField renders an artifact with every field the detail
// pane shows set (deleted, immutable, a dirty git tree, a CI URL, a
// producer command and user, inputs by reference, ID and digest), scrolled
// in two pages.
func TestDetailEveryField(t *testing.T) {
	store := seedStore(0)
	a := store.add("evidence/disk.img:4", 7<<30, 12, map[string]string{"case": "2026-17", "owner": "forensics"},
		[2]string{"reports/q:3", "summary"}, [2]string{"sha256:" + strings.Repeat("cd", 32), "image"})
	i := store.byID[a.ID]
	deleted := baseTime.Add(-3 * time.Hour)
	immutable := baseTime.Add(400 * 24 * time.Hour)
	last := baseTime.Add(-5 * time.Minute)
	art := &store.arts[i]
	art.Deleted, art.DeletedAt = true, &deleted
	art.Tags = []string{"sealed"}
	art.Provenance.Producer.Command = "dd if=/dev/sdb of=disk.img"
	art.Provenance.Producer.User = "erin"
	art.Provenance.Producer.GitDirty = true
	art.Provenance.Producer.CIURL = "https://ci.example.com/run/42"
	art.Provenance.Inputs = append(art.Provenance.Inputs, client.Input{ArtifactID: "01JFAKE0000000000000000099"})
	art.Retention = client.Retention{ImmutableUntil: &immutable}
	art.Retrievals = client.RetrievalStats{Count: 2, Bytes: 14 << 30, LastAt: &last}

	h := newHarness(t, store, 80, 40, Options{InitialRef: "evidence/disk.img:4"})
	v := h.view()
	golden(t, "detail_every_field", v)
	// A value moved to a line of its own in the middle of a field does not
	// leave a blank line that reads as the end of a section.
	if !strings.Contains(v, "inputs     summary: reports/q:3\n  image: sha256:cdcd") {
		t.Errorf("the inputs field is broken by a blank line:\n%s", v)
	}
	h = newHarness(t, store, 60, 40, Options{InitialRef: "evidence/disk.img:4"})
	golden(t, "detail_every_field_60", h.view())
}
