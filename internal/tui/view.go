package tui

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"

	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// splitWidth is the narrowest screen that shows a list and a detail pane
// side by side.
const splitWidth = 100

// bodyRows is the height of the body: the screen minus the header, status
// and help lines.
func (m *Model) bodyRows() int { return max(m.height-3, 1) }

// listRows is the number of artifact rows the list shows (the body minus
// its column header).
func (m *Model) listRows() int { return max(m.bodyRows()-1, 1) }

// split returns the widths of the left and right panes of a split body, or
// ok=false when the screen is too narrow to split.
func (m *Model) split() (left, right int, ok bool) {
	if m.width < splitWidth {
		return m.width, 0, false
	}
	left = m.width * 55 / 100
	return left, m.width - left - 3, true
}

// View renders the screen: a header line, the body, a status line and a
// help line. No line is wider than the screen and there are never more
// lines than its height.
func (m Model) View() string {
	w := m.width
	lines := make([]string, 0, m.height)
	lines = append(lines, m.headerLine())
	var body []string
	switch {
	case m.showHelp:
		body = m.helpBody()
	case m.screen == screenDetail && m.top() != nil:
		body = m.detailBody()
	case m.screen == screenEvents && m.events != nil:
		body = m.eventsBody()
	default:
		body = m.listBody()
	}
	rows := m.bodyRows()
	for i := 0; i < rows; i++ {
		if i < len(body) {
			lines = append(lines, body[i])
		} else {
			lines = append(lines, "")
		}
	}
	lines = append(lines, m.statusLine(), m.helpLine())
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	for i, l := range lines {
		lines[i] = trunc(l, w)
	}
	return strings.Join(lines, "\n")
}

func (m *Model) headerLine() string {
	var ctx, ref string // ref, if set, follows ctx and is clipped with clipRef
	switch {
	case m.showHelp:
		ctx = "help"
	case m.screen == screenDetail && len(m.stack) > 0:
		ctx = ""
	case m.screen == screenEvents && m.events != nil:
		ctx, ref = "events of ", textfmt.Sanitize(m.events.art.Ref)
	case m.filterText != "":
		ctx = "filter: " + textfmt.Sanitize(m.filterText)
	default:
		ctx = "all artifacts"
	}
	right := ""
	if m.screen == screenList && !m.showHelp {
		total := m.list.total()
		more := ""
		if !m.list.done {
			more = "+"
		}
		if total > 0 {
			right = fmt.Sprintf("%d/%d%s", m.list.cursor+1, total, more)
		}
	}
	if m.busy() {
		right = strings.TrimSpace(m.spin.View() + " loading " + right)
	}
	title := "artstore"
	avail := m.width - lenW(title) - 3
	if right != "" {
		avail -= lenW(right) + 1
	}
	switch {
	case ctx == "" && !m.showHelp && m.screen == screenDetail:
		ctx = m.breadcrumb(avail)
	case ref != "":
		ctx = around(ctx, ref, "", avail)
	default:
		ctx = trunc(ctx, avail)
	}
	left := m.st.title.Render(title) + " · " + ctx
	if right == "" {
		return left
	}
	gap := m.width - lenW(left) - lenW(right)
	return left + strings.Repeat(" ", max(gap, 1)) + m.st.faint.Render(right)
}

// breadcrumb renders the lineage path, dropping its oldest steps (shown as
// "…") when it does not fit in w columns.
func (m *Model) breadcrumb(w int) string {
	const sep = " › "
	refs := make([]string, len(m.stack))
	for i, f := range m.stack {
		refs[i] = textfmt.Sanitize(f.art.Ref)
	}
	for start := 0; start < len(refs); start++ {
		s := strings.Join(refs[start:], sep)
		if start > 0 {
			s = "…" + sep + s
		}
		if lenW(s) <= w {
			return s
		}
	}
	// The last step alone, shortened; still marked as a longer path when
	// that leaves it room enough to read.
	last := refs[len(refs)-1]
	if len(refs) > 1 && w-lenW("…"+sep) >= 12 {
		return "…" + sep + clipRef(last, w-lenW("…"+sep))
	}
	return clipRef(last, w)
}

func (m *Model) statusLine() string {
	if m.inputMode != inputNone {
		return m.input.View()
	}
	if m.status == "" {
		return ""
	}
	s := trunc(textfmt.Sanitize(m.status), m.width)
	if m.statusErr {
		return m.st.err.Render(s)
	}
	return s
}

func (m *Model) helpLine() string {
	var b []key.Binding
	switch {
	case m.inputMode == inputFilter:
		if e := m.filterEdit; e != nil && e.err != nil {
			// Why the list does not follow what is typed.
			return m.st.err.Render(trunc("not a filter yet: "+textfmt.Sanitize(e.err.Error()), m.width))
		}
		b = []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		}
	case m.inputMode == inputPull:
		b = []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "pull")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		}
	case m.showHelp:
		b = []key.Binding{
			key.NewBinding(key.WithKeys("?"), key.WithHelp("?/esc", "close help")),
			m.keys.Quit,
		}
	default:
		b = m.fitHelp(m.keys.shortHelp(m.screen), m.keys.Help, m.keys.Quit)
	}
	return m.help.ShortHelpView(b)
}

// fitHelp returns the bindings of want, in order, that fit on the footer
// line, followed by always (help and quit: with ? in sight every other key
// can be found). A binding that does not fit is left out and the next,
// narrower one may still fit.
func (m *Model) fitHelp(want []key.Binding, always ...key.Binding) []key.Binding {
	width := func(bs []key.Binding) int {
		w := 0
		for i, b := range bs {
			if i > 0 {
				w += lenW(m.help.ShortSeparator)
			}
			w += lenW(b.Help().Key) + 1 + lenW(b.Help().Desc)
		}
		return w
	}
	out := make([]key.Binding, 0, len(want)+len(always))
	for _, b := range want {
		try := append(append(out[:len(out):len(out)], b), always...)
		if width(try) <= m.width {
			out = append(out, b)
		}
	}
	return append(out, always...)
}

// listBody is the artifact list, with the selected artifact's detail beside
// it when the screen is wide enough.
func (m *Model) listBody() []string {
	lw, rw, split := m.split()
	left := m.listPane(lw)
	if !split {
		return left
	}
	var right []string
	if a := m.list.selected(); a != nil {
		right = m.detailLines(a, rw)
	}
	return m.joinPanes(left, lw, right)
}

// joinPanes puts two panes side by side with a rule between them.
func (m *Model) joinPanes(left []string, lw int, right []string) []string {
	rows := m.bodyRows()
	out := make([]string, rows)
	rule := m.st.faint.Render(" │ ")
	for i := range out {
		var l, r string
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		out[i] = pad(l, lw) + rule + r
	}
	return out
}

// sizeW is the width of the list's size column: textfmt.Bytes is at most
// 10 columns wide.
const sizeW = 10

// listColumns divides a list pane of width w into columns: reference, tags
// and labels (0 when hidden); size (textfmt.Bytes: at most 10 columns) and
// age are fixed.
func listColumns(w int) (ref, tags, labels int) {
	const gutter, ageW = 2, 4
	rest := w - gutter - (1 + sizeW) - (1 + ageW)
	if rest < 1 {
		return max(rest, 0), 0, 0
	}
	ref = clamp(rest*45/100, min(rest, 16), 48)
	rem := rest - ref
	if rem >= 7 {
		tags = clamp(rem*35/100, 6, 20)
		labels = rem - (1 + tags) - 1
		if labels < 6 {
			labels = 0
			tags = rem - 1
		}
	} else {
		ref += rem
	}
	return ref, tags, labels
}

// listPane renders the list's column header and visible rows in width w.
func (m *Model) listPane(w int) []string {
	refW, tagsW, labW := listColumns(w)
	row := func(marker, ref, tags, size, ageS, labels string) string {
		var b strings.Builder
		b.WriteString(marker)
		b.WriteString(pad(clipRef(ref, refW), refW))
		if tagsW > 0 {
			b.WriteString(" " + pad(tags, tagsW))
		}
		b.WriteString(" " + padLeft(size, sizeW) + " " + padLeft(ageS, 4))
		if labW > 0 {
			b.WriteString(" " + pad(labels, labW))
		}
		return b.String()
	}
	out := []string{m.st.faint.Render(strings.TrimRight(row("  ", "NAME:VERSION", "TAGS", "SIZE", "AGE", "LABELS"), " "))}
	l := &m.list
	total := l.total()
	if total == 0 {
		switch {
		case l.loading():
			out = append(out, "  "+m.spin.View()+" loading artifacts…")
		case l.err != nil:
			out = append(out, "  could not list artifacts (r retries)")
		case m.filterText != "" && m.inputMode == inputFilter:
			out = append(out, "  no artifacts match "+textfmt.Sanitize(m.filterText))
		case m.filterText != "":
			out = append(out, "  no artifacts match "+textfmt.Sanitize(m.filterText)+" (esc clears the filter)")
		default:
			out = append(out, "  no artifacts yet: `artstore push FILE` adds one")
		}
		return out
	}
	now := m.now()
	end := min(l.offset+m.listRows(), total)
	for i := l.offset; i < end; i++ {
		marker := "  "
		if i == l.cursor {
			marker = "> "
		}
		a := l.at(i)
		if a == nil {
			out = append(out, marker+m.st.faint.Render("…"))
			continue
		}
		s := row(marker, textfmt.Sanitize(a.Ref), textfmt.Sanitize(strings.Join(a.Tags, ",")), textfmt.Bytes(a.Size),
			age(a.CreatedAt, now), textfmt.Sanitize(labelString(a.Labels)))
		s = strings.TrimRight(s, " ")
		if i == l.cursor {
			s = m.st.selected.Render(pad(s, w))
		}
		out = append(out, s)
	}
	if end == total && l.loading() && len(out) <= m.listRows() {
		out = append(out, "  "+m.spin.View()+" loading more…")
	}
	return out
}

// detailBody is the detail screen: the artifact in view, or its lineage
// panel (with the selected relative's detail beside it when wide enough).
func (m *Model) detailBody() []string {
	f := m.top()
	rows := m.bodyRows()
	if f.rel == nil {
		lines := m.detailLines(&f.art, m.width)
		start := clamp(f.scroll, 0, max(len(lines)-rows, 0))
		lines = lines[start:]
		if hidden := len(lines) - rows; hidden > 0 {
			lines = lines[:rows]
			lines[rows-1] = m.st.faint.Render(fmt.Sprintf("↓ %d more lines (j/k scroll)", hidden+1))
		}
		return lines
	}
	lw, rw, split := m.split()
	left := m.relativesPane(f, lw, rows)
	if !split {
		return left
	}
	var right []string
	if r := f.rel.selected(); r != nil && r.art != nil {
		right = m.detailLines(r.art, rw)
	}
	return m.joinPanes(left, lw, right)
}

// relativesPane renders the lineage panel of f in width w.
func (m *Model) relativesPane(f *frame, w, rows int) []string {
	rel := f.rel
	ref := textfmt.Sanitize(f.art.Ref)
	title, empty, emptyEnd := "inputs of ", "  no inputs recorded for ", ""
	if rel.dir == client.Down {
		title, empty, emptyEnd = "derived from ", "  nothing derived from ", " yet"
	}
	switch {
	case rel.loading:
		return []string{m.st.bold.Render(around(title, ref, "", w)), "  " + m.spin.View() + " loading…"}
	case rel.err != nil:
		return []string{m.st.bold.Render(around(title, ref, "", w)), m.st.err.Render(trunc("  could not load lineage: "+textfmt.Sanitize(rel.err.Error()), w))}
	case len(rel.items) == 0:
		return []string{m.st.bold.Render(around(title, ref, "", w)), around(empty, ref, emptyEnd, w)}
	}
	out := []string{m.st.bold.Render(around(title, ref, fmt.Sprintf(" (%d)", len(rel.items)), w))}
	roleW := 4
	for _, r := range rel.items {
		roleW = max(roleW, lenW(textfmt.Sanitize(r.role)))
	}
	roleW = min(roleW, 14, max(w/4, 4))
	now := m.now()
	visible := max(rows-1, 1)
	// The offset the keys left, moved if a resize hid the cursor.
	offset := clamp(rel.offset, max(rel.cursor-visible+1, 0), rel.cursor)
	end := min(offset+visible, len(rel.items))
	for i := offset; i < end; i++ {
		r := rel.items[i]
		marker := "  "
		if i == rel.cursor {
			marker = "> "
		}
		ageS := ""
		if r.art != nil {
			ageS = age(r.art.CreatedAt, now)
		}
		role := r.role
		if role == "" {
			role = "-"
		}
		nameW := w - 2 - roleW - 1 - 5
		s := marker + pad(textfmt.Sanitize(role), roleW) + " " + pad(clipRef(textfmt.Sanitize(r.label()), nameW), nameW) + " " + padLeft(ageS, 4)
		s = strings.TrimRight(s, " ")
		if i == rel.cursor {
			s = m.st.selected.Render(pad(s, w))
		}
		out = append(out, s)
	}
	return out
}

// detailLines renders everything known about a, one field per line, in
// width w: its identity, then the provenance, retention and retrievals
// sections.
func (m *Model) detailLines(a *client.Artifact, w int) []string {
	d := &detailText{st: m.st, w: w}
	now := m.now()
	d.identity(a, now)
	d.provenance(a.Provenance)
	d.retention(a.Retention, now)
	d.retrievals(a.Retrievals, now)
	return d.out
}

// detailText collects the lines of a detail pane of width w.
type detailText struct {
	st  styles
	w   int
	out []string
}

// detailKeyW is the width of the detail pane's key column.
const detailKeyW = 11

// kv adds the field k with one line per value; values come from the store
// and are sanitized here.
func (d *detailText) kv(k string, vs ...string) {
	for i, v := range vs {
		if i > 0 {
			k = ""
		}
		v = textfmt.Sanitize(v)
		if n := lenW(v); detailKeyW+n > d.w && n+2 <= d.w {
			// A value such as a digest that fits on a line of its own is
			// better whole on the next line than cut; a further value of
			// the field needs no line for its (empty) key.
			if k != "" {
				d.out = append(d.out, d.st.faint.Render(trunc(k, d.w)))
			}
			d.out = append(d.out, "  "+v)
			continue
		}
		d.out = append(d.out, trunc(d.st.faint.Render(pad(k, detailKeyW))+v, d.w))
	}
}

// section starts a section titled s, after a blank line.
func (d *detailText) section(s string) {
	d.out = append(d.out, "", d.st.section.Render(trunc(s, d.w)))
}

// identity adds the title line and the fields that identify a: ID, kind,
// size, creation, digests, tags, labels and deletion.
func (d *detailText) identity(a *client.Artifact, now time.Time) {
	deleted := ""
	if a.Deleted {
		deleted = " (deleted)"
	}
	d.out = append(d.out, d.st.bold.Render(around("", textfmt.Sanitize(a.Ref), deleted, d.w)))
	d.kv("id", a.ID)
	kind := a.Kind
	if a.MediaType != "" {
		kind += " · " + a.MediaType
	}
	d.kv("kind", kind)
	d.kv("size", fmt.Sprintf("%s (%d bytes)", textfmt.Bytes(a.Size), a.Size))
	created := relTime(a.CreatedAt, now)
	if a.CreatedBy != "" {
		created += " by " + a.CreatedBy
	}
	d.kv("created", created)
	d.kv("digest", a.ContentDigest)
	if a.ManifestDigest != "" {
		d.kv("manifest", a.ManifestDigest)
	}
	if len(a.Tags) > 0 {
		d.kv("tags", strings.Join(a.Tags, ", "))
	}
	if len(a.Labels) > 0 {
		d.kv("labels", sortedLabels(a.Labels)...)
	}
	if a.Deleted && a.DeletedAt != nil {
		d.kv("deleted", relTime(*a.DeletedAt, now))
	}
}

// provenance adds the provenance section: the producer and the inputs.
func (d *detailText) provenance(pv client.Provenance) {
	d.section("provenance")
	p := pv.Producer
	if p.Tool != "" {
		d.kv("tool", p.Tool)
	}
	if p.Command != "" {
		d.kv("command", p.Command)
	}
	if host := joinNonEmpty(" · ", p.Host, prefixed("user ", p.User)); host != "" {
		d.kv("host", host)
	}
	if p.GitRepo != "" || p.GitCommit != "" {
		git := joinNonEmpty(" @ ", p.GitRepo, p.GitCommit)
		var extra []string
		if p.GitBranch != "" {
			extra = append(extra, p.GitBranch)
		}
		if p.GitDirty {
			extra = append(extra, "dirty")
		}
		if len(extra) > 0 {
			git += " (" + strings.Join(extra, ", ") + ")"
		}
		d.kv("git", git)
	}
	if ci := joinNonEmpty(" · ", p.CISystem, prefixed("job ", p.CIJob), prefixed("run ", p.CIRun)); ci != "" {
		d.kv("ci", ci)
	}
	if p.CIURL != "" {
		d.kv("ci url", p.CIURL)
	}
	if len(pv.Inputs) == 0 {
		d.kv("inputs", "none recorded")
		return
	}
	ins := make([]string, len(pv.Inputs))
	for i, in := range pv.Inputs {
		what := in.Ref
		if what == "" {
			what = in.ArtifactID
		}
		if what == "" {
			what = in.Digest
		}
		if in.Role != "" {
			what = in.Role + ": " + what
		}
		ins[i] = what
	}
	d.kv("inputs", ins...)
}

// retention adds the retention section: legal hold, expiry, immutability.
func (d *detailText) retention(r client.Retention, now time.Time) {
	d.section("retention")
	if r.LegalHold {
		hold := "held"
		if r.HoldReason != "" {
			hold += ": " + r.HoldReason
		}
		d.kv("legal hold", hold)
	} else {
		d.kv("legal hold", "none")
	}
	if r.ExpiresAt != nil {
		d.kv("expires", relTime(*r.ExpiresAt, now))
	} else {
		d.kv("expires", "never")
	}
	if r.ImmutableUntil != nil {
		d.kv("immutable", "until "+relTime(*r.ImmutableUntil, now))
	}
}

// retrievals adds the retrievals section: how often and how much a was
// pulled, and the last pull.
func (d *detailText) retrievals(rs client.RetrievalStats, now time.Time) {
	d.section("retrievals")
	d.kv("pulls", fmt.Sprintf("%d (%s)", rs.Count, textfmt.Bytes(rs.Bytes)))
	if rs.LastAt != nil {
		last := relTime(*rs.LastAt, now)
		if rs.LastBy != "" {
			last += " by " + rs.LastBy
		}
		d.kv("last pull", last)
	}
}

// eventsBody renders the events screen.
func (m *Model) eventsBody() []string {
	ev := m.events
	w := m.width
	ref := textfmt.Sanitize(ev.art.Ref)
	switch {
	case ev.loading:
		return []string{"  " + m.spin.View() + " reading the event log for " + ref + "…"}
	case ev.err != nil:
		return []string{m.st.err.Render(trunc("could not read events: "+textfmt.Sanitize(ev.err.Error()), w))}
	}
	noun := "events"
	if len(ev.items) == 1 {
		noun = "event"
	}
	after := fmt.Sprintf(" among %d in the log", ev.scanned)
	if ev.truncated {
		after += " (scan limit reached: later events not shown)"
	}
	out := []string{m.st.bold.Render(around(fmt.Sprintf("%d %s of ", len(ev.items), noun), ref, after, w))}
	rows := m.bodyRows() - 1
	offset := clamp(ev.offset, 0, max(len(ev.items)-rows, 0))
	end := min(offset+rows, len(ev.items))
	seqW, typeW, actorW := eventColumns(ev.items)
	for _, e := range ev.items[offset:end] {
		s := pad(fmt.Sprintf("#%d", e.Seq), seqW) + "  " + e.Time.UTC().Format("2006-01-02 15:04") +
			"  " + pad(textfmt.Sanitize(e.Type), typeW) + "  " + pad(textfmt.Sanitize(e.Actor), actorW) +
			"  " + textfmt.Sanitize(payloadSummary(e.Payload))
		out = append(out, trunc(strings.TrimRight(s, " "), w))
	}
	return out
}

// Widest type and actor columns of the events screen; longer values are
// cut ("…") so that the payload keeps its room.
const (
	eventTypeMaxW  = 24
	eventActorMaxW = 20
)

// eventColumns returns the widths of the events screen's sequence, type
// and actor columns: the widest value among all the events listed (not
// only the visible ones, so the columns stay put while scrolling), within
// the maxima above.
func eventColumns(evs []client.Event) (seqW, typeW, actorW int) {
	seqW = 2
	for _, e := range evs {
		seqW = max(seqW, len(fmt.Sprintf("#%d", e.Seq)))
		typeW = max(typeW, lenW(textfmt.Sanitize(e.Type)))
		actorW = max(actorW, lenW(textfmt.Sanitize(e.Actor)))
	}
	return seqW, min(typeW, eventTypeMaxW), min(actorW, eventActorMaxW)
}

// payloadSummary renders an event payload as sorted "k=v" pairs. Byte
// counts (the keys bytes and size, and keys ending in _bytes) are written
// with textfmt.Bytes, as the CLI writes sizes.
func payloadSummary(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := fmt.Sprint(p[k])
		if k == "bytes" || k == "size" || strings.HasSuffix(k, "_bytes") {
			if n, ok := payloadInt(p[k]); ok {
				v = textfmt.Bytes(n)
			}
		}
		parts[i] = k + "=" + v
	}
	return strings.Join(parts, " ")
}

// payloadInt reads an integer from a decoded payload value: a json.Number
// (local mode keeps integers exact), a float64 (decoded from the daemon's
// JSON) or a Go integer.
func payloadInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case float64:
		if n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case int:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

// helpBody is the help overlay.
func (m *Model) helpBody() []string {
	w := m.width
	out := []string{m.st.bold.Render("keys"), ""}
	out = append(out, strings.Split(m.help.FullHelpView(m.keys.fullHelp()), "\n")...)
	notes := []string{
		"",
		"filter (/): a name glob or prefix and label selectors, server-side;",
		"the list narrows as you type, esc puts it back as it was:",
		"  reports/* env=prod team!=infra !draft",
		"lineage: u lists the inputs, d what was derived; enter moves there,",
		"and esc goes back to the view you came from, one step at a time.",
		"p y Y e act on the highlighted artifact.",
	}
	for _, n := range notes {
		out = append(out, trunc(n, w))
	}
	return out
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
