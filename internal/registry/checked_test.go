package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/registry"
)

// TestGetChecksTheRegistration edits the views behind the registry's back,
// as a faulty tool with write access to the database could (the triggers
// protect the events, not the views), and checks that Get refuses the
// edited row instead of handing out another artifact's digests, and that a
// rebuild repairs it.
func TestGetChecksTheRegistration(t *testing.T) {
	tests := []struct {
		name string
		// ref is what Get is asked for; "" means t/a:1's ID.
		ref string
		// tamper returns the statements; a and b are t/a:1 and t/b:1.
		tamper func(a, b registry.Artifact) []string
		want   string
	}{
		{"manifest of another artifact", "t/a:1", func(a, b registry.Artifact) []string {
			return []string{fmt.Sprintf("UPDATE artifacts SET manifest_digest = '%s' WHERE id = '%s'", b.ManifestDigest, a.ID)}
		}, "manifest digest " + "%b.manifest (its registration, event 1, says %a.manifest)"},
		{"content, size and manifest of another artifact", "t/a:1", func(a, b registry.Artifact) []string {
			return []string{fmt.Sprintf("UPDATE artifacts SET manifest_digest = '%s', content_digest = '%s', size = %d WHERE id = '%s'",
				b.ManifestDigest, b.ContentDigest, b.Size, a.ID)}
		}, "content digest %b.content (its registration, event 1, says %a.content)"},
		{"by ID", "", func(a, b registry.Artifact) []string {
			return []string{fmt.Sprintf("UPDATE artifacts SET size = 1 WHERE id = '%s'", a.ID)}
		}, "size 1 (its registration, event 1, says 9)"},
		{"by digest", "t/a@%a.content", func(a, b registry.Artifact) []string {
			return []string{fmt.Sprintf("UPDATE artifacts SET media_type = 'text/plain' WHERE id = '%s'", a.ID)}
		}, "media type text/plain"},
		{"row naming an event that is not in the log", "t/a:1", func(a, b registry.Artifact) []string {
			return []string{fmt.Sprintf("UPDATE artifacts SET seq = seq + 1000 WHERE id = '%s'", a.ID)}
		}, "its registration event 1001 is not in the log"},
		{"tag moved to another name's artifact", "t/a:latest", func(a, b registry.Artifact) []string {
			return []string{fmt.Sprintf("UPDATE tags SET artifact_id = '%s' WHERE name = 't/a'", b.ID)}
		}, "t/a:latest (t/b:1): the views disagree with the event log: t/a:latest resolved to an artifact of t/b"},
		{"another registration's row renamed", "t/b:1", func(a, b registry.Artifact) []string {
			return []string{fmt.Sprintf("DELETE FROM tags WHERE artifact_id = '%s'", b.ID),
				fmt.Sprintf("DELETE FROM artifacts WHERE id = '%s'", b.ID),
				fmt.Sprintf("UPDATE artifacts SET name = 't/b' WHERE id = '%s'", a.ID)}
		}, "name t/b (its registration, event 1, says t/a)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, e *env) {
				ctx := context.Background()
				a := e.register(t, e.req("t/a", "a"))
				b := e.register(t, e.req("t/b", "bb"))
				expand := strings.NewReplacer("%a.manifest", a.ManifestDigest.String(), "%b.manifest", b.ManifestDigest.String(),
					"%a.content", a.ContentDigest.String(), "%b.content", b.ContentDigest.String())
				ref := expand.Replace(tc.ref)
				if ref == "" {
					ref = a.ID
				}
				if got, err := e.r.Get(ctx, ref); err != nil {
					t.Fatalf("get %s before tampering: %v", ref, err)
				} else if got.ID != a.ID && got.ID != b.ID {
					t.Fatalf("get %s = %+v", ref, got)
				}
				e.sql(t, tc.tamper(a, b)...)
				_, err := e.r.Get(ctx, ref)
				if !errors.Is(err, registry.ErrViewMismatch) {
					t.Fatalf("get %s after tampering: %v, want ErrViewMismatch", ref, err)
				}
				if want := expand.Replace(tc.want); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "artstore admin rebuild") {
					t.Errorf("error %q\nwant it to contain %q and the fix", err, want)
				}
				if _, err := e.r.Rebuild(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := e.r.Get(ctx, ref); err != nil {
					t.Errorf("get %s after a rebuild: %v", ref, err)
				}
			})
		})
	}
}
